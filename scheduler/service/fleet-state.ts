import type { EdgeStatus, LinkEstimate, Profile, UeStatus } from '../../proto/index.js';

/** An input the scheduler reacts to, already decoded and validated, with the id from its topic. */
export type FleetEvent =
  | { readonly type: 'ueStatus'; readonly ue: string; readonly status: UeStatus }
  | { readonly type: 'profile'; readonly ue: string; readonly profile: Profile }
  | { readonly type: 'link'; readonly ue: string; readonly link: LinkEstimate }
  | { readonly type: 'edgeStatus'; readonly worker: string; readonly status: EdgeStatus };

/** What the scheduler knows about one UE. Profile and link are kept while the UE is offline. */
export interface UeRecord {
  readonly online: boolean;
  readonly profile?: Profile;
  /**
   * The link the scheduler plans with: the last estimate that moved past the hysteresis
   * threshold (relative to this one), so that slow drift still adds up to a re-solve.
   */
  readonly link?: LinkEstimate;
}

/** Immutable fleet state: every reducer step returns a new object when something changed. */
export interface FleetState {
  readonly ues: ReadonlyMap<string, UeRecord>;
  /** Online edge workers only: an offline worker is dropped (its units leave `R`). */
  readonly workers: ReadonlyMap<string, EdgeStatus>;
}

export interface FleetUpdate {
  readonly state: FleetState;
  /** Whether the change can alter the solver's instance, so the fleet must be re-solved. */
  readonly resolve: boolean;
}

export interface ReducerOptions {
  /** Relative link change (in uplinkMbps, downlinkMbps or rttMs) below which nothing changes. */
  readonly hysteresis: number;
}

export const EMPTY_FLEET: FleetState = { ues: new Map(), workers: new Map() };

/** A UE takes part in a solve when it is online and has a profile and a link. */
export function isScheduled(ue: UeRecord | undefined): boolean {
  return ue?.online === true && ue.profile !== undefined && ue.link !== undefined;
}

/** What one event changes: nothing, one UE's record, or one worker's entry. */
type FleetChange =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'ue';
      readonly id: string;
      readonly record: UeRecord;
      readonly resolve: boolean;
    }
  | {
      readonly kind: 'worker';
      readonly id: string;
      /** Undefined: the worker is dropped (offline). */
      readonly status: EdgeStatus | undefined;
      readonly resolve: boolean;
    };

const NO_CHANGE: FleetChange = { kind: 'none' };

/** What `event` changes in `state` (pure, O(1) in the fleet's size). */
function changeOf(state: FleetState, event: FleetEvent, options: ReducerOptions): FleetChange {
  switch (event.type) {
    case 'ueStatus':
      return ueChange(state, event.ue, { online: event.status.state === 'online' });
    case 'profile': {
      const old = state.ues.get(event.ue)?.profile;
      if (old !== undefined && sameProfile(old, event.profile)) return NO_CHANGE;
      return ueChange(state, event.ue, { profile: event.profile });
    }
    case 'link': {
      const record = state.ues.get(event.ue);
      const old = record?.link;
      if (
        old !== undefined &&
        isScheduled(record) &&
        !linkMovedPast(old, event.link, options.hysteresis)
      )
        return NO_CHANGE;
      return ueChange(state, event.ue, { link: event.link });
    }
    case 'edgeStatus':
      return workerChange(state, event.worker, event.status);
  }
}

/** Pure reducer: the state after `event`, and whether the fleet must be re-solved. */
export function applyFleetEvent(
  state: FleetState,
  event: FleetEvent,
  options: ReducerOptions,
): FleetUpdate {
  const change = changeOf(state, event, options);
  switch (change.kind) {
    case 'none':
      return { state, resolve: false };
    case 'ue': {
      const ues = new Map(state.ues);
      ues.set(change.id, change.record);
      return { state: { ues, workers: state.workers }, resolve: change.resolve };
    }
    case 'worker':
      return {
        state: { ues: state.ues, workers: withWorker(state, change) },
        resolve: change.resolve,
      };
  }
}

/** A fleet state whose UE map the engine updates in place (`applyFleetEventInPlace`). */
export interface MutableFleetState {
  readonly ues: Map<string, UeRecord>;
  workers: ReadonlyMap<string, EdgeStatus>;
}

/**
 * The reducer for a large fleet: the same change as `applyFleetEvent`, made in `state` itself,
 * so that one UE's change costs O(1) instead of a copy of every UE's record. The UE map is
 * updated in place (each record is still replaced, never mutated); the workers map, small and
 * rarely changed, is replaced by a new one on each change, so that its identity still tells a
 * change of the edge workers. Returns whether the fleet must be re-solved.
 */
export function applyFleetEventInPlace(
  state: MutableFleetState,
  event: FleetEvent,
  options: ReducerOptions,
): boolean {
  const change = changeOf(state, event, options);
  if (change.kind === 'ue') state.ues.set(change.id, change.record);
  else if (change.kind === 'worker') state.workers = withWorker(state, change);
  return change.kind !== 'none' && change.resolve;
}

function ueChange(
  state: FleetState,
  id: string,
  patch: Partial<Pick<UeRecord, 'online' | 'profile' | 'link'>>,
): FleetChange {
  const before = state.ues.get(id);
  const after: UeRecord = { ...(before ?? { online: false }), ...patch };
  if (
    before !== undefined &&
    before.online === after.online &&
    before.profile === after.profile &&
    before.link === after.link
  )
    return NO_CHANGE;
  // A UE outside the solve before and after changes nothing the solver sees.
  const resolve = isScheduled(before) || isScheduled(after);
  return { kind: 'ue', id, record: after, resolve };
}

function workerChange(state: FleetState, id: string, status: EdgeStatus): FleetChange {
  const before = state.workers.get(id);
  const serving = status.state === 'online';
  if (!serving && before === undefined) return NO_CHANGE;
  const after = serving ? status : undefined;
  return { kind: 'worker', id, status: after, resolve: !sameCapacity(before, after) };
}

function withWorker(
  state: FleetState,
  change: { readonly id: string; readonly status: EdgeStatus | undefined },
): Map<string, EdgeStatus> {
  const workers = new Map(state.workers);
  if (change.status !== undefined) workers.set(change.id, change.status);
  else workers.delete(change.id);
  return workers;
}

/** Whether two worker states offer the same units and edge profiles (timestamps aside). */
function sameCapacity(a: EdgeStatus | undefined, b: EdgeStatus | undefined): boolean {
  const unitsA = a?.units ?? 0;
  const unitsB = b?.units ?? 0;
  if (unitsA !== unitsB) return false;
  // A worker without units serves nothing (see fleet-instance.ts), so its models don't matter.
  if (unitsA === 0) return true;
  const modelsA = a?.models ?? [];
  const modelsB = b?.models ?? [];
  if (modelsA.length !== modelsB.length) return false;
  const byModel = new Map(modelsA.map((m) => [m.model, m.edgeMs]));
  return modelsB.every((m) => {
    const edgeMs = byModel.get(m.model);
    return edgeMs !== undefined && sameNumbers(edgeMs, m.edgeMs);
  });
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

function sameProfile(a: Profile, b: Profile): boolean {
  if (a.model !== b.model || a.batch !== b.batch || a.resultBytes !== b.resultBytes) return false;
  if (a.cuts.length !== b.cuts.length) return false;
  return a.cuts.every((cut, k) => {
    const other = b.cuts[k];
    if (other === undefined) return false;
    return cut.name === other.name && cut.deviceMs === other.deviceMs && cut.bytes === other.bytes;
  });
}

/**
 * Relative change of one link quantity. From 0 any change counts as infinite; an absent
 * downlink means an unlimited one, so gaining or losing it is infinite too.
 */
function relativeChange(before: number | undefined, after: number | undefined): number {
  if (before === after) return 0;
  if (before === undefined || after === undefined || before === 0) return Number.POSITIVE_INFINITY;
  return Math.abs(after - before) / before;
}

/**
 * Whether `after` differs from `before` by at least `threshold` (relative) in uplinkMbps,
 * downlinkMbps or rttMs. An identical estimate never counts, even with a threshold of 0.
 */
export function linkMovedPast(
  before: LinkEstimate,
  after: LinkEstimate,
  threshold: number,
): boolean {
  const change = Math.max(
    relativeChange(before.uplinkMbps, after.uplinkMbps),
    relativeChange(before.downlinkMbps, after.downlinkMbps),
    relativeChange(before.rttMs, after.rttMs),
  );
  return change > 0 && change >= threshold;
}
