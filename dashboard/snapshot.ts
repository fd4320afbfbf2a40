/**
 * What the dashboard server sends the page on every update (`/events`, server-sent events, one
 * JSON object per `data:` line). Types only: the page and the server share them.
 */

/** One UE's row of the fleet table. */
export interface UeRow {
  readonly ue: string;
  readonly online: boolean;
  readonly model: string | null;
  readonly batch: number | null;
  /** batch × the device time of the whole model: how long the UE takes alone. */
  readonly localMs: number | null;
  readonly link: {
    readonly uplinkMbps: number;
    readonly downlinkMbps: number | null;
    readonly rttMs: number;
    readonly source: 'configured' | 'measured';
    readonly measuredAt: number;
  } | null;
  readonly decision: {
    readonly epoch: number;
    readonly cut: number;
    readonly cutName: string;
    /** The profile's last cut index: `cut === lastCut` runs locally. */
    readonly lastCut: number | null;
    readonly units: number;
    readonly predictedMs: number;
    readonly solver: string;
  } | null;
  /** From the UE's `stats` message, when it publishes one. */
  readonly measured: {
    readonly p50Ms: number | null;
    readonly p99Ms: number | null;
    readonly lastMs: number | null;
    readonly tasks: number;
    readonly failed: number;
    readonly windowMs: number;
    readonly at: number;
  } | null;
}

export interface WorkerRow {
  readonly worker: string;
  readonly units: number;
  readonly models: readonly string[];
}

export interface EpochMark {
  readonly epoch: number;
  /** When the first decision of the epoch arrived (the server's clock). */
  readonly at: number;
  /** Decisions published under it. */
  readonly decisions: number;
  readonly solver: string;
}

export interface WhatIfRow {
  readonly solver: string;
  readonly maxLatencyMs: number;
  readonly meanLatencyMs: number;
  readonly unitsUsed: number;
  readonly localUes: number;
  readonly solveMs: number;
}

export interface WhatIf {
  /** When it was solved, and over how many UEs and units. */
  readonly at: number;
  readonly ues: number;
  readonly units: number;
  /** UEs kept out of the solve (no edge worker serves their model): local in every row. */
  readonly forcedLocal: number;
  readonly rows: readonly WhatIfRow[];
  /** Why there is no table (no UE to solve, fleet too large). */
  readonly note: string | null;
}

/** One sample of the plots: every plotted UE's values at `t`. */
export interface PlotRow {
  readonly seq: number;
  readonly t: number;
  /** Per plotted UE: [measured ms (latest task), predicted ms (its decision), uplink Mbps]. */
  readonly ues: Readonly<Record<string, readonly [number | null, number | null, number | null]>>;
  readonly fleetMeasuredMs: number | null;
  readonly fleetPredictedMs: number | null;
}

export interface Snapshot {
  readonly at: number;
  readonly connected: boolean;
  readonly prefix: string;
  readonly ues: readonly UeRow[];
  readonly workers: readonly WorkerRow[];
  /** R, and the units the current decisions hold. */
  readonly units: number;
  readonly unitsInUse: number;
  readonly scheduler: {
    readonly leaderId: string;
    readonly epoch: number;
    readonly solver: string;
    readonly lastSolveMs: number;
    readonly maxPredictedMs: number | null;
  } | null;
  readonly epochs: readonly EpochMark[];
  readonly whatIf: WhatIf | null;
  /** The UEs the plots show now (at most `MAX_PLOTTED_UES`, by id). */
  readonly plotted: readonly string[];
  /** Plot rows the page does not have yet (all kept ones on the first update). */
  readonly rows: readonly PlotRow[];
  /** Messages refused by validation since the server started. */
  readonly rejected: number;
}
