import { TraceError } from './errors.js';
import {
  type BandwidthTrace,
  constantTrace,
  parseStepSpec,
  pointsTrace,
  randomWalkTrace,
  stepTrace,
  type TracePoint,
} from './traces.js';

/** How every UE's uplink evolves in a simulated fleet. */
export type TraceSpec =
  /** Each UE keeps the uplink of its link class (with the fleet's jitter). */
  | { readonly kind: 'constant' }
  /**
   * Each UE walks from its own uplink, within [min, max] × that uplink, with its own seed.
   * Defaults: volatility 0.1, stepS 1, minFactor 0.25, maxFactor 2.
   */
  | {
      readonly kind: 'walk';
      readonly volatility?: number;
      readonly stepS?: number;
      readonly minFactor?: number;
      readonly maxFactor?: number;
    }
  /** Each UE keeps its own uplink until the first step; from then on all follow the steps. */
  | { readonly kind: 'steps'; readonly steps: readonly TracePoint[] }
  /** Every UE follows a recorded trace (a `seconds,Mbps` file). */
  | { readonly kind: 'points'; readonly points: readonly TracePoint[]; readonly source: string };

/** What `--trace` names: a spec, or a CSV file still to be read. */
export type TraceArg = TraceSpec | { readonly kind: 'file'; readonly path: string };

/** Parses `constant`, `walk`, `steps:SECONDS=MBPS,...` or a path to a `.csv` file. */
export function parseTraceArg(arg: string): TraceArg {
  if (arg === 'constant') return { kind: 'constant' };
  if (arg === 'walk') return { kind: 'walk' };
  if (arg.startsWith('steps:')) return { kind: 'steps', steps: parseStepSpec(arg.slice(6)) };
  if (arg.toLowerCase().endsWith('.csv')) return { kind: 'file', path: arg };
  throw new TraceError(
    `unknown trace ${JSON.stringify(arg.slice(0, 64))}: expected constant, walk, steps:SECONDS=MBPS,... or FILE.csv`,
  );
}

/**
 * The trace of UE number `index` (from 0) whose own uplink is `baseMbps`; walks are seeded by
 * the fleet seed and the index, so a fleet replays the same bandwidths.
 */
export function traceForUe(
  spec: TraceSpec,
  baseMbps: number,
  seed: number,
  index: number,
): BandwidthTrace {
  switch (spec.kind) {
    case 'constant':
      return constantTrace(baseMbps);
    case 'walk':
      return randomWalkTrace({
        startMbps: baseMbps,
        minMbps: baseMbps * (spec.minFactor ?? 0.25),
        maxMbps: baseMbps * (spec.maxFactor ?? 2),
        seed: (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) + index) >>> 0,
        ...(spec.stepS === undefined ? {} : { stepS: spec.stepS }),
        ...(spec.volatility === undefined ? {} : { volatility: spec.volatility }),
      });
    case 'steps':
      return stepTrace(baseMbps, spec.steps);
    case 'points':
      return pointsTrace(spec.points, spec.source);
  }
}
