import { describe, expect, it } from 'vitest';
import { defined, MissingValueError, mapGet } from '../runtime/defined.js';

describe('defined', () => {
  it('returns a present value unchanged, falsy ones included', () => {
    const list: readonly number[] = [0, 1];
    expect(defined(list[0], 'the first element')).toBe(0);
    expect(defined('', 'a name')).toBe('');
    expect(defined(false, 'a flag')).toBe(false);
    expect(Number.isNaN(defined(Number.NaN, 'a number'))).toBe(true);
    const object = { a: 1 };
    expect(defined(object, 'an object')).toBe(object);
  });

  it('throws a MissingValueError naming what was missing for undefined and null', () => {
    const list: readonly number[] = [];
    expect(() => defined(list[0], 'cut 0 of model "m"')).toThrow('cut 0 of model "m" is missing');
    expect(() => defined(null, 'the graph')).toThrow(MissingValueError);
    try {
      defined(undefined, 'the graph');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(MissingValueError);
      expect(error).toBeInstanceOf(Error);
      const missing = error as MissingValueError;
      expect(missing.name).toBe('MissingValueError');
      expect(missing.code).toBe('MISSING_VALUE');
      expect(missing.what).toBe('the graph');
      expect(missing.message).toBe('the graph is missing');
    }
  });
});

describe('mapGet', () => {
  const map = new Map<string, number | null>([
    ['zero', 0],
    ['one', 1],
    ['none', null],
  ]);

  it('returns the entry of a key, falsy ones included', () => {
    expect(mapGet(map, 'zero', 'zero')).toBe(0);
    expect(mapGet(map, 'one', 'one')).toBe(1);
  });

  it('throws naming what was missing for an absent key or a null entry', () => {
    expect(() => mapGet(map, 'two', 'the status of worker "two"')).toThrow(
      new MissingValueError('the status of worker "two"'),
    );
    expect(() => mapGet(map, 'none', 'the entry "none"')).toThrow('the entry "none" is missing');
  });
});
