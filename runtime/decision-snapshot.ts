/**
 * The scheduler's decisions as Redis holds them (docs/live-system.md, "Faults"): the leader
 * records every solve's changes there, under the lock and before publishing any of them, so a
 * process that missed retained messages (a broker restart, a reconnect, a restart of its own)
 * reads the full current state. The keys (`epochKey`, `decisionsKey`) are part of the key
 * layout in proto/jobs.ts.
 */
import { type Decision, decisionsKey, decodeMessage, epochKey, isValidId } from '../proto/index.js';
import type { RedisClient } from './redis-connect.js';

/** Every current decision and the epoch they are current at. */
export interface DecisionSnapshot {
  readonly epoch: number;
  readonly decisions: ReadonlyMap<string, Decision>;
  /** Entries that did not decode (UE id or reason), left out of `decisions`. */
  readonly invalid: readonly string[];
}

/** The epoch recorded last, or undefined when none is (a fresh or wiped Redis). */
export async function readSnapshotEpoch(
  redis: RedisClient,
  redisPrefix: string,
): Promise<number | undefined> {
  return parseEpoch(await redis.get(epochKey(redisPrefix)));
}

function parseEpoch(text: string | null): number | undefined {
  if (text === null || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * Reads the epoch and every decision in one transaction, so the two agree. Undefined when no
 * epoch is recorded: nothing to go by.
 */
export async function readDecisionSnapshot(
  redis: RedisClient,
  redisPrefix: string,
): Promise<DecisionSnapshot | undefined> {
  const replies = await redis
    .multi()
    .get(epochKey(redisPrefix))
    .hgetallBuffer(decisionsKey(redisPrefix))
    .exec();
  if (replies === null) return undefined;
  const [[epochError, epochText], [hashError, hash]] = replies as [
    [Error | null, string | null],
    [Error | null, Record<string, Buffer> | null],
  ];
  if (epochError !== null) throw epochError;
  if (hashError !== null) throw hashError;
  const epoch = parseEpoch(epochText);
  if (epoch === undefined) return undefined;
  const decisions = new Map<string, Decision>();
  const invalid: string[] = [];
  for (const [ue, payload] of Object.entries(hash ?? {})) {
    if (!isValidId(ue)) {
      invalid.push(`a field that is no UE id (${ue.length} characters)`);
      continue;
    }
    const decoded = decodeMessage('decision', payload);
    if (decoded.ok) decisions.set(ue, decoded.value);
    else invalid.push(`${ue}: ${decoded.error.message}`);
  }
  return { epoch, decisions, invalid };
}
