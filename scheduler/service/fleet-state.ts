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

/** Pure reducer: the state after `event`, and whether the fleet must be re-solved. */
export function applyFleetEvent(
  state: FleetState,
  event: FleetEvent,
  options: ReducerOptions,
): FleetUpdate {
  switch (event.type) {
    case 'ueStatus':
      return updateUe(state, event.ue, { online: event.status.state === 'online' });
    case 'profile': {
      const old = state.ues.get(event.ue)?.profile;
      if (old !== undefined && sameProfile(old, event.profile)) return unchanged(state);
      return updateUe(state, event.ue, { profile: event.profile });
    }
    case 'link': {
      const record = state.ues.get(event.ue);
      const old = record?.link;
      if (
        old !== undefined &&
        isScheduled(record) &&
        !linkMovedPast(old, event.link, options.hysteresis)
      )
        return unchanged(state);
      return updateUe(state, event.ue, { link: event.link });
    }
    case 'edgeStatus':
      return updateWorker(state, event.worker, event.status);
  }
}

function unchanged(state: FleetState): FleetUpdate {
  return { state, resolve: false };
}

function updateUe(
  state: FleetState,
  id: string,
  patch: Partial<Pick<UeRecord, 'online' | 'profile' | 'link'>>,
): FleetUpdate {
  const before = state.ues.get(id);
  const after: UeRecord = { ...(before ?? { online: false }), ...patch };
  if (
    before !== undefined &&
    before.online === after.online &&
    before.profile === after.profile &&
    before.link === after.link
  )
    return unchanged(state);
  const ues = new Map(state.ues);
  ues.set(id, after);
  // A UE outside the solve before and after changes nothing the solver sees.
  const resolve = isScheduled(before) || isScheduled(after);
  return { state: { ues, workers: state.workers }, resolve };
}

function updateWorker(state: FleetState, id: string, status: EdgeStatus): FleetUpdate {
  const before = state.workers.get(id);
  const serving = status.state === 'online';
  if (!serving && before === undefined) return unchanged(state);
  const workers = new Map(state.workers);
  if (serving) workers.set(id, status);
  else workers.delete(id);
  const next = { ues: state.ues, workers };
  return { state: next, resolve: !sameCapacity(before, serving ? status : undefined) };
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
    const other = b.cuts[k]!;
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
