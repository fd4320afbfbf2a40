import { createHash } from 'node:crypto';

/**
 * The deterministic packing of UE units onto edge workers (docs/live-system.md, queue contract):
 * every worker computes it from the same retained messages and so agrees on who serves what,
 * without talking to the others.
 */

/** An online edge worker and the units it declared on `edge/{worker}/status`. */
export interface WorkerUnits {
  readonly id: string;
  readonly units: number;
}

/** A UE and the units its current decision gives it. */
export interface UeUnits {
  readonly ue: string;
  readonly units: number;
}

/** Worker id → UE id → units of that UE the worker serves (only shares > 0 appear). */
export type Packing = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Code-unit order, not locale order, so every process sorts ids alike. */
function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function wholeUnits(units: number): number {
  return Number.isFinite(units) && units > 0 ? Math.floor(units) : 0;
}

/**
 * First-fit packing: workers sorted by id, UEs with units > 0 sorted by id, each UE's units
 * taken from the workers in order, splitting a UE across workers when the current one runs out.
 * When the UEs ask for more than the workers have, the last UEs (by id) get less or nothing.
 * Ids must be unique within each list; input order does not matter.
 */
export function packUnits(workers: readonly WorkerUnits[], ues: readonly UeUnits[]): Packing {
  const slots = workers
    .map((worker) => ({ id: worker.id, free: wholeUnits(worker.units) }))
    .filter((worker) => worker.free > 0)
    .sort((a, b) => byId(a.id, b.id));
  const demands = ues
    .map((ue) => ({ ue: ue.ue, units: wholeUnits(ue.units) }))
    .filter((ue) => ue.units > 0)
    .sort((a, b) => byId(a.ue, b.ue));
  const packing = new Map<string, Map<string, number>>();
  let w = 0;
  for (const demand of demands) {
    let need = demand.units;
    while (need > 0) {
      const slot = slots[w];
      if (slot === undefined) break; // every worker is full
      const take = Math.min(need, slot.free);
      let shares = packing.get(slot.id);
      if (shares === undefined) {
        shares = new Map();
        packing.set(slot.id, shares);
      }
      shares.set(demand.ue, take);
      slot.free -= take;
      need -= take;
      if (slot.free === 0) w++;
    }
  }
  return packing;
}

const NO_SHARES: ReadonlyMap<string, number> = new Map();

/** The shares of one worker: UE id → units (UEs it does not serve are absent). */
export function sharesOf(packing: Packing, workerId: string): ReadonlyMap<string, number> {
  return packing.get(workerId) ?? NO_SHARES;
}

/** UEs that some worker serves. */
export function servedUes(packing: Packing): Set<string> {
  const served = new Set<string>();
  for (const shares of packing.values()) for (const ue of shares.keys()) served.add(ue);
  return served;
}

/**
 * A short fingerprint of a packing (12 hex digits of a SHA-256 over its sorted shares): workers
 * that log the same one serve the same split (`edge worker ...: packing ...` lines).
 */
export function packingDigest(packing: Packing): string {
  const lines: string[] = [];
  for (const [worker, shares] of packing)
    for (const [ue, units] of shares) lines.push(`${worker} ${ue} ${units}`);
  lines.sort(byId);
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12);
}
