import { describe, expect, it } from 'vitest';
import {
  constantTrace,
  parseStepSpec,
  parseTraceArg,
  parseTraceCsv,
  pointsTrace,
  randomWalkTrace,
  stepTrace,
  TraceError,
  traceForUe,
} from '../agents/index.js';

describe('constant and step traces', () => {
  it('holds a constant bandwidth', () => {
    const trace = constantTrace(12.5);
    expect([0, 1, 1e6].map((t) => trace.mbpsAt(t))).toEqual([12.5, 12.5, 12.5]);
    expect(() => constantTrace(0)).toThrow(TraceError);
  });

  it('keeps the base until the first step, then each step from its time on', () => {
    const trace = stepTrace(20, [
      { atS: 10, mbps: 5 },
      { atS: 30, mbps: 40 },
    ]);
    const at = [0, 9.99, 10, 29.9, 30, 1000].map((t) => trace.mbpsAt(t));
    expect(at).toEqual([20, 20, 5, 5, 40, 40]);
  });

  it('parses SECONDS=MBPS step specs and names the bad item', () => {
    expect(parseStepSpec('10=5, 30=40.5')).toEqual([
      { atS: 10, mbps: 5 },
      { atS: 30, mbps: 40.5 },
    ]);
    expect(() => parseStepSpec('10=5,x=3')).toThrow(/step 2 "x=3"/);
    expect(() => parseStepSpec('10=0')).toThrow(/Mbps > 0/);
    expect(() => parseStepSpec('10=5,5=3')).toThrow(/step 2: times must increase/);
    expect(() => parseStepSpec('10=5=3')).toThrow(TraceError);
  });
});

describe('random walk trace', () => {
  const options = { startMbps: 10, minMbps: 2.5, maxMbps: 20, seed: 42, volatility: 0.3 };

  it('is deterministic for a seed, whatever order times are read in', () => {
    const a = randomWalkTrace(options);
    const b = randomWalkTrace(options);
    const forward = Array.from({ length: 200 }, (_, t) => a.mbpsAt(t));
    const backward = Array.from({ length: 200 }, (_, t) => b.mbpsAt(199 - t)).reverse();
    expect(backward).toEqual(forward);
    const other = randomWalkTrace({ ...options, seed: 43 });
    expect(Array.from({ length: 200 }, (_, t) => other.mbpsAt(t))).not.toEqual(forward);
  });

  it('starts at the start, changes once per step and stays within its bounds', () => {
    const trace = randomWalkTrace({ ...options, stepS: 2 });
    expect(trace.mbpsAt(0)).toBe(10);
    expect(trace.mbpsAt(1.9)).toBe(10);
    expect(trace.mbpsAt(-5)).toBe(10);
    const values = Array.from({ length: 5000 }, (_, k) => trace.mbpsAt(k * 2));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(2.5);
    expect(Math.max(...values)).toBeLessThanOrEqual(20);
    // It moves, and it explores the range rather than sticking to a bound.
    expect(new Set(values).size).toBeGreaterThan(4000);
    expect(values.filter((v) => v === 20 || v === 2.5).length).toBeLessThan(50);
    for (const [k, value] of values.entries()) {
      const before = values[k - 1];
      if (before === undefined) continue;
      const ratio = value / before;
      expect(ratio).toBeGreaterThanOrEqual(0.69);
      expect(ratio).toBeLessThanOrEqual(1 / 0.69);
    }
  });

  it('refuses unusable options', () => {
    expect(() => randomWalkTrace({ ...options, startMbps: 30 })).toThrow(/outside/);
    expect(() => randomWalkTrace({ ...options, volatility: 1 })).toThrow(/volatility/);
    expect(() => randomWalkTrace({ ...options, stepS: 0 })).toThrow(/step/);
    expect(() => randomWalkTrace({ ...options, seed: -1 })).toThrow(/seed/);
  });
});

describe('CSV traces', () => {
  it('parses seconds,Mbps with an optional header, comments and blank lines', () => {
    const text = 'seconds,Mbps\n# warm-up\n0,10\n\n5, 2.5\r\n12.5,30\n';
    const points = parseTraceCsv(text, 'lte.csv');
    expect(points).toEqual([
      { atS: 0, mbps: 10 },
      { atS: 5, mbps: 2.5 },
      { atS: 12.5, mbps: 30 },
    ]);
    const trace = pointsTrace(points, 'lte.csv');
    expect([0, 4.9, 5, 12.4, 12.5, 99].map((t) => trace.mbpsAt(t))).toEqual([
      10, 10, 2.5, 2.5, 30, 30,
    ]);
  });

  it('holds the first value before the first point', () => {
    const trace = pointsTrace(parseTraceCsv('3,7\n6,9'));
    expect(trace.mbpsAt(0)).toBe(7);
  });

  it.each([
    ['0,10\n5\n', 2, /lte\.csv:2: expected "seconds,Mbps", got "5"/],
    ['0,10\n5,abc\n', 2, /lte\.csv:2: Mbps must be a number > 0/],
    ['0,10\n\n5,0\n', 3, /lte\.csv:3: Mbps must be a number > 0/],
    ['0,10\n-1,5\n', 2, /lte\.csv:2: seconds must be a number >= 0/],
    ['0,10\n5,1\n5,2\n', 3, /lte\.csv:3: seconds must increase/],
    ['seconds,Mbps\n0,10\nsecs,Mbps\n', 3, /lte\.csv:3: seconds must be a number/],
    ['0,10,3\n', 1, /lte\.csv:1: expected "seconds,Mbps"/],
    ['0,1e999\n', 1, /lte\.csv:1: Mbps/],
  ])('rejects %j naming line %i', (text, line, message) => {
    let error: unknown;
    try {
      parseTraceCsv(text, 'lte.csv');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TraceError);
    expect((error as TraceError).line).toBe(line);
    expect((error as TraceError).message).toMatch(message);
  });

  it('rejects a file without points', () => {
    expect(() => parseTraceCsv('seconds,Mbps\n# nothing\n', 'empty.csv')).toThrow(
      /empty\.csv: has no/,
    );
  });
});

describe('trace arguments and per-UE traces', () => {
  it('parses --trace values', () => {
    expect(parseTraceArg('constant')).toEqual({ kind: 'constant' });
    expect(parseTraceArg('walk')).toEqual({ kind: 'walk' });
    expect(parseTraceArg('steps:10=5')).toEqual({ kind: 'steps', steps: [{ atS: 10, mbps: 5 }] });
    expect(parseTraceArg('traces/lte.CSV')).toEqual({ kind: 'file', path: 'traces/lte.CSV' });
    expect(() => parseTraceArg('wlak')).toThrow(/unknown trace "wlak"/);
  });

  it('gives each UE its own walk around its own uplink, reproducibly', () => {
    const a = traceForUe({ kind: 'walk' }, 10, 7, 0);
    const b = traceForUe({ kind: 'walk' }, 10, 7, 1);
    const again = traceForUe({ kind: 'walk' }, 10, 7, 0);
    const series = (trace: typeof a) => Array.from({ length: 50 }, (_, t) => trace.mbpsAt(t));
    expect(series(again)).toEqual(series(a));
    expect(series(b)).not.toEqual(series(a));
    expect(Math.min(...series(a))).toBeGreaterThanOrEqual(2.5);
    expect(traceForUe({ kind: 'constant' }, 10, 7, 3).mbpsAt(100)).toBe(10);
    const steps = traceForUe({ kind: 'steps', steps: [{ atS: 2, mbps: 1 }] }, 10, 7, 3);
    expect([steps.mbpsAt(1), steps.mbpsAt(2)]).toEqual([10, 1]);
  });
});
