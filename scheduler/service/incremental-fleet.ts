import type { EdgeStatus } from '../../proto/index.js';
import { defined } from '../../runtime/defined.js';
import type { Instance, UeSpec } from '../instance-schema.js';
import { type PreparedFleet, prepareFleet, writePreparedUe } from '../solvers/index.js';
import {
  buildInstance,
  edgeUnits,
  type ForcedLocal,
  type ModelService,
  modelServices,
  ueEntry,
} from './fleet-instance.js';
import { type FleetState, isScheduled, type UeRecord } from './fleet-state.js';

/** The solver's input as kept between solves. */
export interface IncrementalInput {
  /** The same object from solve to solve, updated in place (UEs sorted by id). */
  readonly instance: Instance;
  readonly forcedLocal: readonly ForcedLocal[];
  /** `prepareFleet(instance)`, rewritten in place for a UE whose cut count did not change. */
  readonly prepared: PreparedFleet;
  /** The model of each UE of `prepared`, by index (its profile's). */
  readonly models: readonly string[];
}

/** What keeping the input cost so far (tests read it to see that it was not rebuilt). */
export interface IncrementalStats {
  /** Whole rebuilds: the first input, and every change of the edge workers. */
  readonly rebuilds: number;
  /** `prepareFleet` over the whole fleet: a rebuild, or a UE entering or leaving the solve. */
  readonly prepares: number;
  /** UEs whose entry was replaced where it was (and their prepared rows rewritten in place). */
  readonly patched: number;
  /** UEs that entered or left the instance or the forced-local list. */
  readonly moved: number;
}

interface MutableInstance {
  readonly edge: { units: number };
  readonly ues: UeSpec[];
}

type Entry = UeSpec | ForcedLocal;

const idOf = (entry: Entry): string => ('reason' in entry ? entry.ue : entry.id);

/** Index of `id` in `list` (sorted by id), or -(insertion point) - 1. */
function search(list: readonly Entry[], id: string): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = idOf(defined(list[mid], 'an entry inside the search range'));
    if (at < id) lo = mid + 1;
    else if (at > id) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/** The model of a scheduled UE's record. */
export function modelOf(record: UeRecord | undefined): string {
  return defined(record?.profile, 'the profile of a scheduled UE').model;
}

/**
 * The solver's input kept from solve to solve: the engine names the UEs an event changed
 * (`touch`), and the next `current` replaces only their entries (a binary search in the
 * id-sorted lists) and rewrites only their rows of the prepared fleet. A change of the edge
 * workers (which alters every UE's edge times and R) rebuilds it all, as does the first call.
 * Equal to `buildInstance(state)` plus `prepareFleet` at every call (test/scheduler-incremental).
 */
export class IncrementalFleet {
  private workers: ReadonlyMap<string, EdgeStatus> | undefined;
  private services: Map<string, ModelService> = new Map();
  /** The record each UE's current entry was made from (scheduled UEs only). */
  private readonly records = new Map<string, UeRecord>();
  private readonly instance: MutableInstance = { edge: { units: 0 }, ues: [] };
  private readonly forced: ForcedLocal[] = [];
  private prepared: PreparedFleet | undefined;
  /** Kept with `prepared`: made when it is, patched when its rows are. */
  private models: string[] = [];
  private readonly pending = new Set<string>();
  private readonly counts = { rebuilds: 0, prepares: 0, patched: 0, moved: 0 };

  /** Marks a UE whose record may have changed. */
  touch(ue: string): void {
    this.pending.add(ue);
  }

  stats(): IncrementalStats {
    return { ...this.counts };
  }

  /** The input for `state`, which must be the state every touched change led to. */
  current(state: FleetState): IncrementalInput {
    if (state.workers !== this.workers) this.rebuild(state);
    else for (const ue of this.pending) this.update(ue, state.ues.get(ue));
    this.pending.clear();
    if (this.prepared === undefined) {
      this.prepared = prepareFleet(this.instance);
      this.models = this.instance.ues.map((ue) => modelOf(this.records.get(ue.id)));
      this.counts.prepares++;
    }
    return {
      instance: this.instance,
      forcedLocal: this.forced,
      prepared: this.prepared,
      models: this.models,
    };
  }

  private rebuild(state: FleetState): void {
    this.workers = state.workers;
    this.services = modelServices(state.workers);
    const built = buildInstance(state);
    this.instance.edge.units = edgeUnits(state);
    this.instance.ues.length = 0;
    this.instance.ues.push(...built.instance.ues);
    this.forced.length = 0;
    this.forced.push(...built.forcedLocal);
    this.records.clear();
    for (const [id, record] of state.ues) if (isScheduled(record)) this.records.set(id, record);
    this.prepared = undefined;
    this.counts.rebuilds++;
  }

  private update(id: string, record: UeRecord | undefined): void {
    const scheduled = record !== undefined && isScheduled(record);
    const before = this.records.get(id);
    if (before === record || (before === undefined && !scheduled)) return;
    const next = scheduled ? ueEntry(id, record, this.services) : undefined;
    if (scheduled) this.records.set(id, record);
    else this.records.delete(id);
    const ues = this.instance.ues;
    const at = search(ues, id);
    // In place: the UE stays in the instance with as many cuts, so its rows keep their offsets.
    if (at >= 0 && next !== undefined && !('reason' in next)) {
      const old = defined(ues[at], `UE "${id}" at index ${at} of the instance`);
      ues[at] = next;
      if (this.prepared !== undefined && old.cuts.length === next.cuts.length) {
        writePreparedUe(this.prepared, at, next);
        (this.prepared.cutNames as string[][])[at] = next.cuts.map((c) => c.name);
        this.models[at] = modelOf(record);
        this.counts.patched++;
      } else this.prepared = undefined;
      return;
    }
    const local = search(this.forced, id);
    // A forced-local UE staying so: its entry is replaced where it is (the solver never sees it).
    if (local >= 0 && next !== undefined && 'reason' in next) {
      this.forced[local] = next;
      this.counts.patched++;
      return;
    }
    this.counts.moved++;
    if (at >= 0) {
      ues.splice(at, 1);
      this.prepared = undefined;
    }
    if (local >= 0) this.forced.splice(local, 1);
    if (next === undefined) return;
    if ('reason' in next) this.forced.splice(-search(this.forced, id) - 1, 0, next);
    else {
      ues.splice(-search(ues, id) - 1, 0, next);
      this.prepared = undefined;
    }
  }
}
