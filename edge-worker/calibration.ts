/**
 * Live calibration of what an edge worker declares: the profile it starts with (measured on an
 * idle machine, or FLOP-based) says how long a tail computes alone; under load its tails compute
 * slower, and every job also spends time outside the computation (reading the tensor, publishing
 * the result). The worker watches its finished jobs and declares, per model,
 * edgeMs[c] = declared[c] × factor + overheadMs before the last cut (0 at it), with factor the
 * running mean of measured / declared compute and overheadMs that of the time outside it. The
 * transform keeps a profile non-increasing along the cuts. A new declaration goes out only when
 * it moved by more than a threshold, and not more often than an interval, so the scheduler
 * re-solves on real drift, not on noise.
 */
import type { EdgeModel } from '../proto/index.js';
import { defined } from '../runtime/defined.js';

export interface CalibrationOptions {
  /** Jobs of a model seen before its first new declaration. @defaultValue 20 */
  readonly minSamples?: number;
  /** Weight of each new job in the running means. @defaultValue 0.1 */
  readonly alpha?: number;
  /** Relative change of some cut's edgeMs that makes a new declaration. @defaultValue 0.1 */
  readonly threshold?: number;
  /** Least time between two declarations. @defaultValue 5000 */
  readonly minIntervalMs?: number;
}

/**
 * Declared compute below this is too short to scale by (noise would swamp the ratio), and a
 * change smaller than this is never a reason to declare again.
 */
const MIN_SCALED_MS = 1;

interface ModelFit {
  readonly declared: readonly number[];
  samples: number;
  factor: number;
  overheadMs: number;
}

export class EdgeCalibration {
  private readonly fits = new Map<string, ModelFit>();
  private published: EdgeModel[];
  private publishedAt = Number.NEGATIVE_INFINITY;
  private readonly minSamples: number;
  private readonly alpha: number;
  private readonly threshold: number;
  private readonly minIntervalMs: number;

  constructor(declared: readonly EdgeModel[], options: CalibrationOptions = {}) {
    for (const { model, edgeMs } of declared)
      this.fits.set(model, { declared: [...edgeMs], samples: 0, factor: 1, overheadMs: 0 });
    this.published = declared.map(({ model, edgeMs }) => ({ model, edgeMs: [...edgeMs] }));
    this.minSamples = options.minSamples ?? 20;
    this.alpha = options.alpha ?? 0.1;
    this.threshold = options.threshold ?? 0.1;
    this.minIntervalMs = options.minIntervalMs ?? 5000;
  }

  /** One finished job: the cut it started at, its computation and its whole time on a unit. */
  observe(model: string, cut: number, computeMs: number, serviceMs: number): void {
    const fit = this.fits.get(model);
    const declared = fit?.declared[cut];
    if (fit === undefined || declared === undefined || cut >= fit.declared.length - 1) return;
    if (!Number.isFinite(computeMs) || !Number.isFinite(serviceMs)) return;
    const weight = fit.samples === 0 ? 1 : this.alpha;
    const outside = Math.max(0, serviceMs - computeMs);
    fit.overheadMs += weight * (outside - fit.overheadMs);
    if (declared >= MIN_SCALED_MS) fit.factor += weight * (computeMs / declared - fit.factor);
    fit.samples++;
  }

  /** What the worker declares now. */
  current(): EdgeModel[] {
    return this.published.map(({ model, edgeMs }) => ({ model, edgeMs: [...edgeMs] }));
  }

  /**
   * The models to declare from now on when the fit moved far enough since the last declaration
   * (and long enough ago); undefined otherwise.
   */
  due(now = performance.now()): EdgeModel[] | undefined {
    if (now - this.publishedAt < this.minIntervalMs) return undefined;
    const next = this.published.map(({ model, edgeMs }) => {
      const fit = this.fits.get(model);
      if (fit === undefined || fit.samples < this.minSamples) return { model, edgeMs };
      const last = fit.declared.length - 1;
      return {
        model,
        edgeMs: fit.declared.map((ms, cut) =>
          cut === last ? 0 : ms * fit.factor + fit.overheadMs,
        ),
      };
    });
    const moved = next.some(({ edgeMs }, index) =>
      edgeMs.some((ms, cut) => {
        const before = defined(
          this.published[index]?.edgeMs[cut],
          `the published time of cut ${cut} of model ${index}`,
        );
        // Relative to the cut's time, but never less than a millisecond: noise on tails of a
        // fraction of a millisecond is no reason to re-solve the fleet.
        return Math.abs(ms - before) > Math.max(this.threshold * before, MIN_SCALED_MS);
      }),
    );
    if (!moved) return undefined;
    this.published = next;
    this.publishedAt = now;
    return this.current();
  }
}
