import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { mersenne } from 'pure-rand/generator/mersenne';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { defined } from '../runtime/defined.js';
import { TraceError } from './errors.js';

/** From `atS` seconds after the start on, the bandwidth is `mbps`. */
export interface TracePoint {
  readonly atS: number;
  readonly mbps: number;
}

/** How a UE's uplink bandwidth evolves: piecewise constant, deterministic. */
export interface BandwidthTrace {
  /** One line for logs, e.g. `walk from 10 Mbps in [2.5, 20]`. */
  readonly description: string;
  /** Uplink Mbps at `tS` seconds after the start (negative times read as 0). */
  mbpsAt(tS: number): number;
}

export function constantTrace(mbps: number): BandwidthTrace {
  checkMbps(mbps, 'constant trace');
  return { description: `constant ${mbps} Mbps`, mbpsAt: () => mbps };
}

/** Options of {@link randomWalkTrace}. */
export interface RandomWalkOptions {
  /** Bandwidth during the first step. */
  readonly startMbps: number;
  readonly minMbps: number;
  readonly maxMbps: number;
  /** PRNG seed, an integer from 0 to 2^32 − 1. */
  readonly seed: number;
  /** Seconds between changes. @defaultValue 1 */
  readonly stepS?: number;
  /** Each step multiplies the bandwidth by a factor drawn from [1 − v, 1 + v]. @defaultValue 0.1 */
  readonly volatility?: number;
}

/**
 * A bounded multiplicative random walk: every `stepS` the bandwidth is multiplied by a factor
 * from [1 − v, 1 + v]; a step past a bound is reflected back inside it. Deterministic for a seed
 * (steps are generated in order and kept, whatever order times are asked in).
 */
export function randomWalkTrace(options: RandomWalkOptions): BandwidthTrace {
  const { startMbps, minMbps, maxMbps, seed } = options;
  const stepS = options.stepS ?? 1;
  const volatility = options.volatility ?? 0.1;
  checkMbps(minMbps, 'walk minimum');
  checkMbps(maxMbps, 'walk maximum');
  if (!(minMbps <= startMbps && startMbps <= maxMbps))
    throw new TraceError(`walk start ${startMbps} Mbps is outside [${minMbps}, ${maxMbps}]`);
  if (!(Number.isFinite(stepS) && stepS > 0))
    throw new TraceError(`walk step must be > 0 seconds, got ${stepS}`);
  if (!(Number.isFinite(volatility) && volatility >= 0 && volatility < 1))
    throw new TraceError(`walk volatility must be in [0, 1), got ${volatility}`);
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed <= 0xffff_ffff))
    throw new TraceError(`walk seed must be an integer from 0 to 2^32 − 1, got ${seed}`);
  const rng: RandomGenerator = mersenne(seed);
  const values = [startMbps];
  let latest = startMbps;
  const next = (previous: number): number => {
    let value = previous * (1 + volatility * (2 * uniformFloat64(rng) - 1));
    // Reflect in log space, so the walk neither sticks to a bound nor leaves the range.
    if (value > maxMbps) value = (maxMbps * maxMbps) / value;
    if (value < minMbps) value = (minMbps * minMbps) / value;
    return Math.min(maxMbps, Math.max(minMbps, value));
  };
  return {
    description: `walk from ${startMbps} Mbps in [${minMbps}, ${maxMbps}], ±${volatility * 100}% every ${stepS} s`,
    mbpsAt(tS) {
      const step = Math.floor(Math.max(0, tS) / stepS);
      while (values.length <= step) {
        latest = next(latest);
        values.push(latest);
      }
      return defined(values[step], `step ${step} of the walk`);
    },
  };
}

/** `baseMbps` until the first step, then each step's bandwidth from its time on. */
export function stepTrace(baseMbps: number, steps: readonly TracePoint[]): BandwidthTrace {
  checkMbps(baseMbps, 'step trace base');
  checkPoints(steps, 'step');
  const points = [...steps];
  const text = points.map((point) => `${point.mbps} Mbps at ${point.atS} s`).join(', ');
  return {
    description: `${baseMbps} Mbps, then ${text || 'no steps'}`,
    mbpsAt: (tS) => valueAt(points, tS) ?? baseMbps,
  };
}

/** A recorded trace: the first point's bandwidth before it, the last one's after it. */
export function pointsTrace(points: readonly TracePoint[], source = 'trace'): BandwidthTrace {
  checkPoints(points, source);
  const first = points[0];
  if (first === undefined) throw new TraceError(`${source}: has no points`);
  const copy = [...points];
  return {
    description: `${source} (${copy.length} points)`,
    mbpsAt: (tS) => valueAt(copy, tS) ?? first.mbps,
  };
}

// Plain decimals: Number() alone would also take '', '0x10' and 'Infinity'.
const DECIMAL = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Parses a `seconds,Mbps` CSV file: one point per line, seconds >= 0 and strictly increasing,
 * Mbps > 0. Blank lines and `#` comments are skipped, and so is a header as the first line.
 * Throws TraceError naming the file and the 1-based line number of the first bad line.
 */
export function parseTraceCsv(text: string, source = 'trace.csv'): TracePoint[] {
  const points: TracePoint[] = [];
  const lines = text.split(/\r?\n/);
  let sawContent = false;
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const isFirst = !sawContent;
    sawContent = true;
    if (isFirst && isHeader(line)) continue;
    const point = parseCsvLine(line, points[points.length - 1]);
    if (typeof point === 'string') {
      const shown = JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
      throw new TraceError(`${source}:${index + 1}: ${point}, got ${shown}`, index + 1);
    }
    points.push(point);
  }
  if (points.length === 0) throw new TraceError(`${source}: has no "seconds,Mbps" lines`);
  return points;
}

/** A first line like `seconds,Mbps`: two fields, the first not a number. */
function isHeader(line: string): boolean {
  const [first, second, ...rest] = line.split(',');
  return (
    first !== undefined &&
    second !== undefined &&
    rest.length === 0 &&
    parseDecimal(first) === undefined &&
    /[a-z]/i.test(line)
  );
}

/** The point a CSV line holds, or why it holds none. */
function parseCsvLine(line: string, previous: TracePoint | undefined): TracePoint | string {
  const [atField, mbpsField, ...rest] = line.split(',');
  if (atField === undefined || mbpsField === undefined || rest.length > 0)
    return 'expected "seconds,Mbps"';
  const atS = parseDecimal(atField);
  const mbps = parseDecimal(mbpsField);
  if (atS === undefined) return 'seconds must be a number >= 0';
  if (mbps === undefined || mbps <= 0) return 'Mbps must be a number > 0';
  if (previous !== undefined && atS <= previous.atS)
    return `seconds must increase (the previous point is at ${previous.atS})`;
  return { atS, mbps };
}

/**
 * Parses step changes written `SECONDS=MBPS,...`, e.g. `10=5,30=20`: 5 Mbps from 10 s, 20 Mbps
 * from 30 s. Throws TraceError naming the bad item.
 */
export function parseStepSpec(spec: string): TracePoint[] {
  const items = spec.split(',').map((item) => item.trim());
  const points = items.map((item, index) => {
    const [at, mbps, ...rest] = item.split('=');
    const atS = parseDecimal(at ?? '');
    const value = parseDecimal(mbps ?? '');
    if (rest.length > 0 || atS === undefined || value === undefined || value <= 0)
      throw new TraceError(
        `step ${index + 1} ${JSON.stringify(item)}: expected SECONDS=MBPS with Mbps > 0`,
      );
    return { atS, mbps: value };
  });
  checkPoints(points, 'step');
  return points;
}

function checkMbps(mbps: number, what: string): void {
  if (!(Number.isFinite(mbps) && mbps > 0))
    throw new TraceError(`${what}: bandwidth must be a finite number > 0 Mbps, got ${mbps}`);
}

function checkPoints(points: readonly TracePoint[], what: string): void {
  points.forEach((point, index) => {
    if (!(Number.isFinite(point.atS) && point.atS >= 0))
      throw new TraceError(`${what} ${index + 1}: time must be a number >= 0, got ${point.atS}`);
    checkMbps(point.mbps, `${what} ${index + 1}`);
    const previous = points[index - 1];
    if (previous !== undefined && point.atS <= previous.atS)
      throw new TraceError(
        `${what} ${index + 1}: times must increase (${point.atS} s after ${previous.atS} s)`,
      );
  });
}

/** Bandwidth of the last point at or before `tS` (binary search), undefined before the first. */
function valueAt(points: readonly TracePoint[], tS: number): number | undefined {
  let low = 0;
  let high = points.length - 1;
  let found: number | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const point = defined(points[middle], 'a trace point inside the search range');
    if (point.atS <= tS) {
      found = point.mbps;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}
