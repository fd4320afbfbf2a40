/**
 * Narrowing for values the code knows are there: an element inside the bounds of its list, the
 * entry of a key just put in a map, a field filled in earlier. Instead of asserting the type
 * away (`x!`), these check, and a broken invariant fails at once with an error naming what was
 * missing rather than as an `undefined` read somewhere further on.
 */

import { EdgesplitError } from '../proto/errors.js';

/** A value the code relied on was absent: a bug or a broken invariant, never bad input. */
export class MissingValueError extends EdgesplitError<'MISSING_VALUE'> {
  /** What was missing, as the caller described it. */
  readonly what: string;
  constructor(what: string, options?: ErrorOptions) {
    super('MISSING_VALUE', `${what} is missing`, options);
    this.name = 'MissingValueError';
    this.what = what;
  }
}

/** `value`, or a throw naming `what` when it is `undefined` or `null`. */
export function defined<T>(value: T, what: string): NonNullable<T> {
  if (value === undefined || value === null) throw new MissingValueError(what);
  return value;
}

/** The entry of `key` in `map`, or a throw naming `what` when there is none. */
export function mapGet<K, V>(map: ReadonlyMap<K, V>, key: K, what: string): NonNullable<V> {
  const value = map.get(key);
  if (value === undefined || value === null) throw new MissingValueError(what);
  return value;
}
