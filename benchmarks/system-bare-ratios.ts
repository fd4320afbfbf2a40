/**
 * The bare path's figures in `bench:system` (system-bare.ts) and the project's over them: one
 * ratio per pair of loads, and the medians over the alternating pairs.
 */
import { medianOrNaN } from '../stats/quantile.js';
import type { RequestResult } from './system-requests.js';

/** The bare path's figures, and what it measured, in full. */
export interface BareFigures {
  readonly requestsPerS100k: number;
  readonly requestsPerS2k: number;
  /** CPU ms per request, all of it (benchmark process, service processes, Redis). */
  readonly cpuMsPerRequest100k: number | null;
  readonly cpuMsPerRequest2k: number | null;
  readonly runs: { readonly large: RequestResult; readonly small: RequestResult };
}

export interface BareRatios {
  readonly throughput100k: number;
  readonly throughput2k: number;
  readonly cpu100k: number | null;
  readonly cpu2k: number | null;
}

export function bareFigures(large: RequestResult, small: RequestResult): BareFigures {
  return {
    requestsPerS100k: large.perSecond,
    requestsPerS2k: small.perSecond,
    cpuMsPerRequest100k: cpuTotal(large.cpu) ?? null,
    cpuMsPerRequest2k: cpuTotal(small.cpu) ?? null,
    runs: { large, small },
  };
}

/** The project's figures over the bare path's, from one pair of loads at each size. */
export function ratiosOf(
  project100k: RequestResult,
  bare100k: RequestResult,
  project2k: RequestResult,
  bare2k: RequestResult,
): BareRatios {
  const over = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || b <= 0 ? null : a / b;
  return {
    throughput100k: project100k.perSecond / bare100k.perSecond,
    throughput2k: project2k.perSecond / bare2k.perSecond,
    cpu100k: over(cpuTotal(project100k.cpu), cpuTotal(bare100k.cpu)),
    cpu2k: over(cpuTotal(project2k.cpu), cpuTotal(bare2k.cpu)),
  };
}

/** Each ratio's median over the pairs (a CPU ratio unknown in any pair is unknown). */
export function medianRatios(pairs: readonly BareRatios[]): BareRatios {
  const of = (values: readonly (number | null)[]): number | null =>
    values.some((value) => value === null) ? null : medianOrNaN(values as number[]);
  return {
    throughput100k: medianOrNaN(pairs.map((p) => p.throughput100k)),
    throughput2k: medianOrNaN(pairs.map((p) => p.throughput2k)),
    cpu100k: of(pairs.map((p) => p.cpu100k)),
    cpu2k: of(pairs.map((p) => p.cpu2k)),
  };
}

/** Everything measured: the benchmark process, the service processes and Redis. */
export function cpuTotal(cpu: RequestResult['cpu']): number | undefined {
  if (cpu === undefined) return undefined;
  return cpu.benchMs + (cpu.servicesMs ?? 0) + (cpu.redisMs ?? 0);
}
