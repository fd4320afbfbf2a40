/**
 * A deadline on a fleet's requests that fails fast with what is needed to tell why: when no
 * request has been answered for `stallMs`, the requests seen on the broker and
 * not answered, by UE, the agents' last warnings and every process's last log lines.
 */
import type { FleetUe } from './system-fleet.js';
import type { RunningSystem } from './system-harness.js';
import { WAIT_MS } from './wait-until.js';

/** Requests of the whole fleet answered so far. */
function answered(fleet: readonly FleetUe[]): number {
  return fleet.reduce((sum, ue) => sum + ue.agent.counters().ok, 0);
}

function failedOf(fleet: readonly FleetUe[]): number {
  return fleet.reduce((sum, ue) => sum + ue.agent.counters().failed, 0);
}

/** What the system and the fleet were doing, for a failure message. */
export function stallReport(system: RunningSystem, fleet: readonly FleetUe[]): string {
  const open = system.observer.trackRequests
    ? [...system.observer.unanswered()]
        .map(([ue, ids]) => `${ue}: ${ids.length} (${ids.slice(0, 5).join(', ')})`)
        .join('; ') || 'none'
    : 'not tracked';
  const warnings = fleet
    .filter((ue) => ue.warnings.length > 0)
    .map((ue) => `${ue.agent.id}: ${ue.warnings.slice(-3).join(' | ')}`)
    .join('\n');
  const logs = system.group.processes.map((process) => process.tail(30)).join('\n');
  return `requests on the broker without an answer: ${open}\nagents' last warnings:\n${warnings || 'none'}\n${logs}`;
}

/** `work`'s value, or an error with `stallReport` once the fleet has no answer for `stallMs`. */
export async function failOnStall<T>(
  system: RunningSystem,
  fleet: readonly FleetUe[],
  work: Promise<T>,
  stallMs = WAIT_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    let last = answered(fleet);
    let since = performance.now();
    timer = setInterval(() => {
      const now = answered(fleet);
      if (now !== last) {
        last = now;
        since = performance.now();
      } else if (performance.now() - since > stallMs) {
        reject(
          new Error(
            `no request of the fleet answered for ${stallMs} ms (${now} answered, ${failedOf(fleet)} failed)\n${stallReport(system, fleet)}`,
          ),
        );
      }
    }, 1000);
  });
  // The fleet's stop settles the work left behind by a stall.
  work.catch(() => {});
  try {
    return await Promise.race([work, stalled]);
  } finally {
    clearInterval(timer);
  }
}
