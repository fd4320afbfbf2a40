/** What `edgesplit lab --json` prints, computed from what the UEs reported during the run. */
import { median } from '../../stats/quantile.js';

/** A task line of `agent --json`, stamped with when the lab read it. */
export interface LabTask {
  readonly ue: string;
  readonly at: number;
  readonly epoch: number | null;
  readonly cut: number;
  readonly predictedMs: number;
  readonly measuredMs: number;
  readonly ok: boolean;
  /** Its upload ran late and its tail ran on the device (the agent's local fallback). */
  readonly fallback?: boolean;
}

export interface LabDecision {
  readonly ue: string;
  readonly at: number;
  readonly epoch: number;
  readonly cut: number;
}

export interface LabLink {
  readonly ue: string;
  readonly at: number;
  readonly uplinkMbps: number;
  readonly source: string | undefined;
}

/** A rate change the lab applied with `tc qdisc change`. */
export interface LabChange {
  readonly ue: string;
  readonly at: number;
  readonly mbps: number;
}

export interface LabObservations {
  /** When the UEs were started (ms since the epoch); times in the report count from here. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** UE ids with the last cut index (local) of their model. */
  readonly ues: readonly { readonly ue: string; readonly localCut: number }[];
  readonly shapedMbps: ReadonlyMap<string, number>;
  /** With `--reference`: each uplink's rate as a bulk TCP transfer got it after the run. */
  readonly referenceMbps?: ReadonlyMap<string, number>;
  readonly tasks: readonly LabTask[];
  readonly decisions: readonly LabDecision[];
  readonly links: readonly LabLink[];
  readonly changes: readonly LabChange[];
  /** Requests answered and failed, per UE (from each agent's final counters). */
  readonly counters: ReadonlyMap<string, { readonly ok: number; readonly failed: number }>;
}

export interface LabAdaptation {
  readonly ue: string;
  readonly changeAtMs: number;
  /** From the change to the first new decision that followed a new estimate; null: none came. */
  readonly newDecisionAfterMs: number | null;
  /**
   * From the change to the first measured estimate the UE published after it (as the lab read
   * it); null: none. With `newDecisionAfterMs` null, it tells a UE that saw nothing from one
   * whose estimate brought no decision.
   */
  readonly estimateAfterMs: number | null;
  readonly oldCut: number | null;
  readonly newCut: number | null;
}

export interface LabReport {
  readonly ues: number;
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  readonly links: readonly {
    readonly ue: string;
    readonly shapedMbps: number | null;
    readonly estimatedMbps: number | null;
    /** With `--reference` only. */
    readonly referenceMbps?: number | null;
  }[];
  readonly adaptations: readonly LabAdaptation[];
  /** Per UE, the tasks whose upload ran late and whose tail ran on the device instead. */
  readonly fallbacks: readonly { readonly ue: string; readonly tasks: number }[];
  readonly prediction: {
    readonly offloadingP50: number | null;
    readonly localP50: number | null;
    readonly perUe: readonly {
      readonly ue: string;
      readonly cut: number | null;
      readonly offloading: boolean;
      readonly errorP50: number | null;
    }[];
  };
}

const errorOf = (task: LabTask) => Math.abs(task.measuredMs - task.predictedMs) / task.predictedMs;

const round3 = (value: number | undefined) =>
  value === undefined ? null : Math.round(value * 1000) / 1000;

function adaptation(o: LabObservations, change: LabChange): LabAdaptation {
  const { ue, at } = change;
  const before = o.decisions.filter((d) => d.ue === ue && d.at <= at).at(-1);
  // The reaction: the first decision after the UE published a measured estimate past the change
  // that moved its cut (else the first one with a higher epoch: the cut stayed right).
  const estimate = o.links.find((l) => l.ue === ue && l.at > at && l.source === 'measured');
  const next =
    estimate === undefined
      ? []
      : o.decisions.filter(
          (d) => d.ue === ue && d.at >= estimate.at && d.epoch > (before?.epoch ?? -1),
        );
  const after = next.find((d) => d.cut !== before?.cut) ?? next[0];
  return {
    ue,
    changeAtMs: Math.round(at - o.startedAt),
    newDecisionAfterMs: after === undefined ? null : Math.round(after.at - at),
    estimateAfterMs: estimate === undefined ? null : Math.round(estimate.at - at),
    oldCut: before?.cut ?? null,
    newCut: after?.cut ?? before?.cut ?? null,
  };
}

/**
 * The report. Prediction errors count the tasks of the second half of the run (after the
 * estimates and decisions settled) that ran under the UE's last decision, fallbacks to the
 * device left out (they are not the decision's path), per UE; a UE
 * offloads if that decision's cut is below its local cut.
 */
export function labReport(o: LabObservations): LabReport {
  let ok = 0;
  let failed = 0;
  for (const counts of o.counters.values()) {
    ok += counts.ok;
    failed += counts.failed;
  }
  const settledFrom = o.startedAt + o.durationMs / 2;
  const perUe = o.ues.map(({ ue, localCut }) => {
    const last = o.decisions.filter((d) => d.ue === ue).at(-1);
    const tasks = o.tasks.filter(
      (t) =>
        t.ue === ue &&
        t.ok &&
        t.fallback !== true &&
        t.at >= settledFrom &&
        last !== undefined &&
        t.epoch === last.epoch,
    );
    const cut = last?.cut ?? null;
    return {
      ue,
      cut,
      offloading: cut !== null && cut < localCut,
      errorP50: median(tasks.map(errorOf)),
    };
  });
  const errors = (offloading: boolean) =>
    perUe
      .filter((u) => u.offloading === offloading && u.errorP50 !== null)
      .map((u) => u.errorP50 ?? 0);
  return {
    ues: o.ues.length,
    requests: ok + failed,
    ok,
    failed,
    links: o.ues.map(({ ue }) => ({
      ue,
      shapedMbps: o.shapedMbps.get(ue) ?? null,
      estimatedMbps: o.links.filter((l) => l.ue === ue).at(-1)?.uplinkMbps ?? null,
      ...(o.referenceMbps === undefined ? {} : { referenceMbps: round3(o.referenceMbps.get(ue)) }),
    })),
    adaptations: o.changes.map((change) => adaptation(o, change)),
    fallbacks: o.ues.map(({ ue }) => ({
      ue,
      tasks: o.tasks.filter((t) => t.ue === ue && t.fallback === true).length,
    })),
    prediction: { offloadingP50: median(errors(true)), localP50: median(errors(false)), perUe },
  };
}
