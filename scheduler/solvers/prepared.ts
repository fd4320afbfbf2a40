import type { Instance } from '../instance-schema.js';

/**
 * An instance flattened into typed arrays so that the solvers touch no objects in their loops.
 * For UE i its offload cuts p = 0..L-1 live at `off[i] + p`:
 *   `fixedMs`  the latency of cut p without the tail compute (head, upload, RTT, result),
 *   `edgeMs`   the tail time of one sample on one unit,
 *   `uploadBytes` what one task uploads at that cut (for tie-breaks).
 * The latency at cut p < L with r >= 1 units is `fixedMs + ceil(B / r) * edgeMs` (docs/model.md).
 */
export interface PreparedFleet {
  readonly n: number;
  readonly units: number;
  readonly ids: readonly string[];
  readonly cutNames: readonly (readonly string[])[];
  readonly batch: Int32Array;
  /** L, the index of the local-only cut. */
  readonly last: Int32Array;
  readonly localMs: Float64Array;
  readonly off: Int32Array;
  readonly fixedMs: Float64Array;
  readonly edgeMs: Float64Array;
  readonly uploadBytes: Float64Array;
}

export function prepareFleet(instance: Instance): PreparedFleet {
  const n = instance.ues.length;
  const batch = new Int32Array(n);
  const last = new Int32Array(n);
  const localMs = new Float64Array(n);
  const off = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const ue = instance.ues[i];
    if (ue === undefined) throw new RangeError(`the instance has no UE ${i} of ${n}`);
    total += ue.cuts.length - 1;
    off[i + 1] = total;
  }
  const fixedMs = new Float64Array(total);
  const edgeMs = new Float64Array(total);
  const uploadBytes = new Float64Array(total);
  const ids: string[] = [];
  const cutNames: string[][] = [];
  const fleet = { batch, last, localMs, off, fixedMs, edgeMs, uploadBytes };
  instance.ues.forEach((ue, i) => {
    ids.push(ue.id);
    cutNames.push(ue.cuts.map((c) => c.name));
    writePreparedUe(fleet, i, ue);
  });
  return {
    n,
    units: instance.edge.units,
    ids,
    cutNames,
    batch,
    last,
    localMs,
    off,
    fixedMs,
    edgeMs,
    uploadBytes,
  };
}

/**
 * Writes UE i's rows (batch, L, local latency and per offload cut fixedMs, edgeMs, uploadBytes)
 * at the offsets `off[i]` already holds. `prepareFleet` uses it for every UE; the scheduler to
 * rewrite one UE in place when its link or profile changed and its cut count did not.
 */
export function writePreparedUe(
  fleet: Pick<
    PreparedFleet,
    'batch' | 'last' | 'localMs' | 'off' | 'fixedMs' | 'edgeMs' | 'uploadBytes'
  >,
  i: number,
  ue: Instance['ues'][number],
): void {
  const B = ue.batch;
  const L = ue.cuts.length - 1;
  fleet.batch[i] = B;
  fleet.last[i] = L;
  const local = ue.cuts[L];
  if (local === undefined) throw new RangeError(`UE "${ue.id}" has no cuts`);
  fleet.localMs[i] = B * local.deviceMs;
  const resultMs =
    ue.downlinkMbps === undefined ? 0 : (ue.resultBytes * 8) / (ue.downlinkMbps * 1000);
  const base = fleet.off[i];
  if (base === undefined) throw new RangeError(`UE ${i} is past the fleet's row offsets`);
  for (let p = 0; p < L; p++) {
    const cut = ue.cuts[p];
    if (cut === undefined) throw new RangeError(`UE "${ue.id}" has no cut ${p} of ${L}`);
    const k = base + p;
    fleet.fixedMs[k] =
      B * cut.deviceMs + (B * cut.bytes * 8) / (ue.uplinkMbps * 1000) + ue.rttMs + resultMs;
    fleet.edgeMs[k] = cut.edgeMs;
    fleet.uploadBytes[k] = B * cut.bytes;
  }
}

/** Latency of UE i at cut p with r units, docs/model.md's integer model. */
export function latencyAt(fleet: PreparedFleet, i: number, p: number, r: number): number {
  // biome-ignore-start lint/style/noNonNullAssertion: solver hot path; i < n and p < L keep the typed-array reads in bounds
  if (p === fleet.last[i]) return fleet.localMs[i]!;
  if (r < 1) return Number.POSITIVE_INFINITY;
  const k = fleet.off[i]! + p;
  return fleet.fixedMs[k]! + Math.ceil(fleet.batch[i]! / r) * fleet.edgeMs[k]!;
  // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
}

/**
 * The best cut of UE i for r units: least latency; ties go to fewer units (local first),
 * then to the smaller upload, then to the earlier cut. The index only: the solvers call it
 * for every UE of every solve, and an object per call was most of a solve's garbage.
 */
export function bestCutIndex(fleet: PreparedFleet, i: number, r: number): number {
  // biome-ignore-start lint/style/noNonNullAssertion: the solvers' inner loop; i < n, and k = off[i] + p with p < L stays within UE i's rows
  const L = fleet.last[i]!;
  let cut = L;
  let ms = fleet.localMs[i]!;
  if (r < 1) return cut;
  const base = fleet.off[i]!;
  const slots = Math.ceil(fleet.batch[i]! / r);
  for (let p = 0; p < L; p++) {
    const k = base + p;
    const t = fleet.fixedMs[k]! + slots * fleet.edgeMs[k]!;
    if (
      t < ms ||
      (t === ms && cut !== L && fleet.uploadBytes[k]! < fleet.uploadBytes[base + cut]!)
    ) {
      cut = p;
      ms = t;
    }
  }
  // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
  return cut;
}

/** UE i's least latency with r units: its latency at `bestCutIndex`. */
export function bestLatency(fleet: PreparedFleet, i: number, r: number): number {
  return latencyAt(fleet, i, bestCutIndex(fleet, i, r), r);
}
