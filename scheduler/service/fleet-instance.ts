import type { EdgeStatus } from '../../proto/index.js';
import { defined } from '../../runtime/defined.js';
import type { Instance, UeSpec } from '../instance-schema.js';
import { type FleetState, isScheduled, type UeRecord } from './fleet-state.js';

/** A scheduled UE that cannot offload, so it runs everything locally; `reason` says why. */
export interface ForcedLocal {
  readonly ue: string;
  readonly reason: string;
  /** The profile field the reason is about: the model no worker serves, or its cut count. */
  readonly field: 'profile.model' | 'profile.cuts';
  /** The local-only cut, L. */
  readonly cut: number;
  readonly cutName: string;
  /** docs/model.md's local latency, B·deviceMs[L]. */
  readonly predictedMs: number;
}

/** What one solve works on: the solver's instance and the UEs kept out of it. */
export interface FleetInstance {
  /** UEs sorted by id, so that equal fleets give equal solutions whatever the arrival order. */
  readonly instance: Instance;
  readonly forcedLocal: readonly ForcedLocal[];
}

interface ServingWorker {
  readonly worker: string;
  readonly edgeMs: readonly number[];
}

/** Per model: the workers serving it and, when they agree on the cut count, the largest edgeMs. */
export interface ModelService {
  readonly workers: readonly ServingWorker[];
  readonly edgeMs: readonly number[] | undefined;
}

// Workers change far less often than links: the table is built once per workers map.
const serviceCache = new WeakMap<ReadonlyMap<string, EdgeStatus>, Map<string, ModelService>>();

/**
 * Which online workers serve each model. A worker without units serves nothing: it could not
 * run a tail job, and counting its edge profile would only hide the workers that can.
 */
export function modelServices(workers: ReadonlyMap<string, EdgeStatus>): Map<string, ModelService> {
  const cached = serviceCache.get(workers);
  if (cached !== undefined) return cached;
  const serving = new Map<string, ServingWorker[]>();
  for (const [worker, status] of [...workers].sort(byKey)) {
    if (status.state !== 'online' || status.units === 0) continue;
    for (const { model, edgeMs } of status.models) {
      const list = serving.get(model) ?? [];
      list.push({ worker, edgeMs });
      serving.set(model, list);
    }
  }
  const table = new Map<string, ModelService>();
  for (const [model, list] of serving) table.set(model, { workers: list, edgeMs: maxEdgeMs(list) });
  serviceCache.set(workers, table);
  return table;
}

/** Elementwise maximum (the slowest worker decides), or undefined if the cut counts differ. */
function maxEdgeMs(list: readonly ServingWorker[]): readonly number[] | undefined {
  const length = defined(list[0], 'a worker serving the model').edgeMs.length;
  if (list.some((w) => w.edgeMs.length !== length)) return undefined;
  const max = new Array<number>(length).fill(0);
  for (const { edgeMs } of list)
    for (const [p, ms] of edgeMs.entries()) if (ms > (max[p] ?? 0)) max[p] = ms;
  return max;
}

/** `R`: the units of the online workers. */
export function edgeUnits(state: FleetState): number {
  let units = 0;
  for (const status of state.workers.values()) if (status.state === 'online') units += status.units;
  return units;
}

/**
 * Builds the solver's instance from the fleet (docs/live-system.md, "Scheduler rules"): every
 * scheduled UE with its profile's cuts, its link, and per cut the largest edgeMs over the online
 * workers serving its model. A UE whose model no worker serves, or whose cut count differs from a
 * serving worker's edge profile, is forced local instead. The maximum of non-increasing edgeMs
 * lists ending in 0 is again one, so the instance is valid by construction.
 */
export function buildInstance(state: FleetState): FleetInstance {
  const services = modelServices(state.workers);
  const scheduled = [...state.ues].filter(([, record]) => isScheduled(record)).sort(byKey);
  const ues: UeSpec[] = [];
  const forcedLocal: ForcedLocal[] = [];
  for (const [id, record] of scheduled) {
    const entry = ueEntry(id, record, services);
    if ('reason' in entry) forcedLocal.push(entry);
    else ues.push(entry);
  }
  return { instance: { edge: { units: edgeUnits(state) }, ues }, forcedLocal };
}

// A UE's spec only changes with its record (replaced on every change) or with the workers'
// table, so between solves most UEs reuse theirs: a link change rebuilds one spec, not N.
const entryCache = new WeakMap<
  UeRecord,
  { services: Map<string, ModelService>; entry: UeSpec | ForcedLocal }
>();

export function ueEntry(
  id: string,
  record: UeRecord,
  services: Map<string, ModelService>,
): UeSpec | ForcedLocal {
  const cached = entryCache.get(record);
  if (cached !== undefined && cached.services === services) return cached.entry;
  const entry = makeEntry(id, record, services);
  entryCache.set(record, { services, entry });
  return entry;
}

function makeEntry(
  id: string,
  { profile, link }: UeRecord,
  services: Map<string, ModelService>,
): UeSpec | ForcedLocal {
  if (profile === undefined || link === undefined) throw new Error(`UE "${id}" is not scheduled`);
  const L = profile.cuts.length - 1;
  const edgeMs = edgeMsFor(profile.model, L + 1, services.get(profile.model));
  if ('reason' in edgeMs) {
    const last = defined(profile.cuts[L], `the last cut of UE "${id}"'s profile`);
    const predictedMs = profile.batch * last.deviceMs;
    return { ue: id, ...edgeMs, cut: L, cutName: last.name, predictedMs };
  }
  const spec: UeSpec = {
    id,
    batch: profile.batch,
    uplinkMbps: link.uplinkMbps,
    rttMs: link.rttMs,
    resultBytes: profile.resultBytes,
    cuts: profile.cuts.map((cut, p) => ({
      name: cut.name,
      deviceMs: cut.deviceMs,
      bytes: cut.bytes,
      edgeMs: defined(edgeMs[p], "a cut's edge time (as many as the profile's cuts)"),
    })),
  };
  return link.downlinkMbps === undefined ? spec : { ...spec, downlinkMbps: link.downlinkMbps };
}

/** The UE's edgeMs per cut, or why it cannot offload. */
function edgeMsFor(
  model: string,
  cutCount: number,
  service: ModelService | undefined,
): readonly number[] | Pick<ForcedLocal, 'reason' | 'field'> {
  if (service === undefined)
    return { field: 'profile.model', reason: `no online edge worker serves model "${model}"` };
  const other = service.workers.find((w) => w.edgeMs.length !== cutCount);
  if (other !== undefined) {
    const reason =
      `model "${model}" has ${cutCount} cuts in the UE's profile but ${other.edgeMs.length} ` +
      `in the edge profile of worker "${other.worker}"`;
    return { field: 'profile.cuts', reason };
  }
  // Every serving worker agrees with the profile, so they agree with each other.
  return defined(service.edgeMs, `the edge times of model "${model}" its workers agree on`);
}

/** Orders map entries by key, as sorting the keys alone does. */
function byKey([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
