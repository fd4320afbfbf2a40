/** Fleets, UEs and events shared by the scheduler's state, planning and engine tests. */
import type { EdgeStatus, LinkEstimate, Profile } from '../proto/index.js';
import {
  applyFleetEvent,
  EMPTY_FLEET,
  type FleetEvent,
  type FleetState,
} from '../scheduler/index.js';

export const OPTIONS = { hysteresis: 0.1 };
export const AT = 1_700_000_000_000;

export function profile(model = 'm', batch = 2): Profile {
  return {
    model,
    batch,
    resultBytes: 1000,
    cuts: [
      { name: 'input', deviceMs: 0, bytes: 600_000 },
      { name: 'mid', deviceMs: 20, bytes: 100_000 },
      { name: 'output', deviceMs: 100, bytes: 1000 },
    ],
  };
}

export function link(uplinkMbps: number, rttMs = 10, downlinkMbps?: number): LinkEstimate {
  const base = { uplinkMbps, rttMs, measuredAt: AT };
  return downlinkMbps === undefined ? base : { ...base, downlinkMbps };
}

export function worker(units: number, models: Record<string, number[]>, online = true): EdgeStatus {
  return {
    state: online ? 'online' : 'offline',
    units,
    models: Object.entries(models).map(([model, edgeMs]) => ({ model, edgeMs })),
    at: AT,
  };
}

export const online = (ue: string): FleetEvent => ({
  type: 'ueStatus',
  ue,
  status: { state: 'online', agentVersion: '1', at: AT },
});
export const offline = (ue: string): FleetEvent => ({
  type: 'ueStatus',
  ue,
  status: { state: 'offline', agentVersion: '1', at: AT },
});
export const linkEvent = (ue: string, l: LinkEstimate): FleetEvent => ({
  type: 'link',
  ue,
  link: l,
});
export const profileEvent = (ue: string, p: Profile = profile()): FleetEvent => ({
  type: 'profile',
  ue,
  profile: p,
});
export const edge = (id: string, status: EdgeStatus): FleetEvent => ({
  type: 'edgeStatus',
  worker: id,
  status,
});

/** Applies events in order; returns the final state and each step's resolve flag. */
export function reduce(events: readonly FleetEvent[], state: FleetState = EMPTY_FLEET) {
  const resolves: boolean[] = [];
  let current = state;
  for (const event of events) {
    const update = applyFleetEvent(current, event, OPTIONS);
    resolves.push(update.resolve);
    current = update.state;
  }
  return { state: current, resolves };
}

/** One worker with 4 units serving model "m", and UEs a and b online with profile and link. */
export function twoUeFleet(): FleetState {
  return reduce([
    edge('w1', worker(4, { m: [30, 10, 0] })),
    ...['a', 'b'].flatMap((ue) => [online(ue), profileEvent(ue), linkEvent(ue, link(50))]),
  ]).state;
}
