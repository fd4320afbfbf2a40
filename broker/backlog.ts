/**
 * The per-UE bound on what waits in Redis: at most `maxJobs` requests and `maxBytes` tensor
 * bytes stored and not yet finished (`backlogKey`). One script checks and records a request, so
 * requests of one UE handled at once (or by two ingress processes) cannot both take the last
 * place. An entry stops counting when its claim key is gone (the edge worker deletes it when the
 * job reaches a final state, the sweeper when the job expires) or its job life is over, so a
 * crash between recording and enqueueing costs a place for one job life at most. Such entries
 * are dropped when a request would otherwise pass a bound, not at every request: a request
 * costs a walk of the UE's entries only then.
 */
import { backlogKey, claimKey, incomingKey, sweptQueuesKey } from '../proto/index.js';
import type { RedisClient } from '../runtime/redis-connect.js';

/** The field of a backlog's bytes hash holding their sum (no request id has a ':'). */
const TOTAL = ':total';

// KEYS: backlog (zset id -> taken ms), its bytes (hash id -> bytes, and TOTAL: their sum), the
// request's job (BullMQ's hash), the request's incoming tensor, its claim key.
// ARGV: now ms, request id, bytes, max jobs, max bytes, job life ms, claim key prefix.
// The ingress writes the tensor to the incoming key, then runs this. A request whose job exists
// is a duplicate (returns 2): its incoming tensor is dropped, the job keeps its own. Otherwise
// the tensor becomes the claim key (replacing one an ingress that died before enqueueing left),
// so every entry of a request still being taken has its claim key and is counted. Neither key
// there (the write of the tensor failed) records nothing (returns 3); only the claim key there
// is a copy of the same request that was taken meanwhile, whose job is being added. Every key it
// reads (the claim keys too) carries the UE's hash tag: one Redis Cluster slot.
// Entries that no longer count (claim key gone, life over) are dropped lazily: the entries and
// TOTAL, stale ones included, are an upper bound of the backlog, and a request within the
// bounds by it is recorded at once. Only a request beyond them walks the entries, dropping the
// stale ones and counting exactly, so a refusal is always by the exact count. Entries without
// TOTAL (recorded by an ingress of an earlier version) are walked and summed once.
const ADMIT = `
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('DEL', KEYS[4])
  return {2, 0, 0}
end
local moved = redis.pcall('RENAME', KEYS[4], KEYS[5])
if type(moved) == 'table' and moved.err and redis.call('EXISTS', KEYS[5]) == 0 then
  return {3, 0, 0}
end
local now = tonumber(ARGV[1])
local life = tonumber(ARGV[6])
local size = tonumber(ARGV[3])
-- An entry is in the set and the hash alike: this request's own, if a copy recorded it.
local recorded = redis.call('HGET', KEYS[2], ARGV[2])
local own = tonumber(recorded or '0')
local jobs = redis.call('ZCARD', KEYS[1]) - (recorded and 1 or 0)
local total = redis.call('HGET', KEYS[2], '${TOTAL}')
local bytes = tonumber(total or '0') - own
if jobs + 1 > tonumber(ARGV[4]) or bytes + size > tonumber(ARGV[5]) or (not total and jobs > 0) then
  local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  jobs, bytes = 0, 0
  for i = 1, #entries, 2 do
    local id = entries[i]
    if id ~= ARGV[2] then
      if tonumber(entries[i + 1]) + life <= now or redis.call('EXISTS', ARGV[7] .. id) == 0 then
        redis.call('ZREM', KEYS[1], id)
        redis.call('HDEL', KEYS[2], id)
      else
        jobs = jobs + 1
        bytes = bytes + tonumber(redis.call('HGET', KEYS[2], id) or '0')
      end
    end
  end
  redis.call('HSET', KEYS[2], '${TOTAL}', bytes + own)
  if jobs + 1 > tonumber(ARGV[4]) then return {0, jobs, bytes} end
  if bytes + size > tonumber(ARGV[5]) then return {-1, jobs, bytes} end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], size)
redis.call('HINCRBY', KEYS[2], '${TOTAL}', size - own)
redis.call('PEXPIRE', KEYS[1], life)
redis.call('PEXPIRE', KEYS[2], life)
return {1, jobs + 1, bytes + size}
`;

// KEYS: backlog, its bytes. ARGV: request id.
const RELEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
local size = redis.call('HGET', KEYS[2], ARGV[1])
if size then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HINCRBY', KEYS[2], '${TOTAL}', -tonumber(size))
end
return 0
`;

interface BacklogCommands {
  edgesplitAdmit(...args: (string | number)[]): Promise<[number, number, number]>;
  edgesplitRelease(...args: string[]): Promise<number>;
}

/**
 * The outcome of `Backlog.admit`: the UE's backlog counting this request (at most this much:
 * entries that no longer count are dropped only when a request would pass a bound), a duplicate
 * (its job exists), or the bound it would pass (by the exact backlog).
 */
export type Admission =
  | { readonly ok: true; readonly jobs: number; readonly bytes: number }
  | { readonly ok: false; readonly limit: 'duplicate' }
  /** Neither the incoming tensor nor the claim key was there: nothing was recorded. */
  | { readonly ok: false; readonly limit: 'unstored' }
  | {
      readonly ok: false;
      readonly limit: 'jobs' | 'bytes';
      /** The UE's backlog without this request. */
      readonly jobs: number;
      readonly bytes: number;
    };

/** Limits of `Backlog`. */
export interface BacklogLimits {
  readonly maxJobs: number;
  readonly maxBytes: number;
  /** A job's life in its queue, ms: an entry older than this no longer counts. */
  readonly lifeMs: number;
}

/**
 * A UE's place on the sweeper's list (`sweptQueuesKey`) is renewed at most this often, ms: the
 * sweeper forgets a UE only after hours without a request.
 */
const LIST_EVERY_MS = 1000;
/** Most UEs whose last listing is remembered; beyond, all are listed again. */
const MAX_LISTED = 4096;

export class Backlog {
  readonly #redis: RedisClient & BacklogCommands;
  readonly #prefix: string;
  readonly #limits: BacklogLimits;
  /** When each UE was last put on the sweeper's list by this process, ms. */
  readonly #listedAt = new Map<string, number>();

  constructor(redis: RedisClient, redisPrefix: string, limits: BacklogLimits) {
    for (const [name, value] of Object.entries(limits))
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${name} must be a positive integer, not ${value}`);
    redis.defineCommand('edgesplitAdmit', { numberOfKeys: 5, lua: ADMIT });
    redis.defineCommand('edgesplitRelease', { numberOfKeys: 2, lua: RELEASE });
    this.#redis = redis as RedisClient & BacklogCommands;
    this.#prefix = redisPrefix;
    this.#limits = limits;
  }

  get limits(): BacklogLimits {
    return this.#limits;
  }

  /**
   * Records a request of `bytes` whose tensor is stored under `incomingKey`, unless its job
   * (`jobKey`, BullMQ's key of the job) exists (the tensor is dropped) or the UE is at its bound
   * (the tensor is under `claimKey`, for the caller to delete). The duplicate check is here
   * rather than before storing the tensor to save the ingress a round trip per request. Its
   * commands are sent at once, so a command sent just before it on the same connection (the
   * tensor's SET) goes in the same write and runs before them.
   */
  async admit(ue: string, requestId: string, bytes: number, jobKey: string): Promise<Admission> {
    const key = backlogKey(this.#prefix, ue);
    const { maxJobs, maxBytes, lifeMs } = this.#limits;
    const now = Date.now();
    // The sweeper's list of fed UEs is one key for all UEs (another slot): the UE goes on it
    // before its request is recorded, so a UE with a job is always swept (one that was refused
    // is swept for nothing). Once listed, it stays so for hours; renewed every second at most.
    // Marked listed when sent, not when answered: the requests in flight behind it do not list
    // the UE again. A failed listing fails this admission and is forgotten, so the next lists.
    const listedAt = this.#listedAt.get(ue);
    let listing: Promise<unknown> | undefined;
    if (listedAt === undefined || now - listedAt >= LIST_EVERY_MS) {
      if (this.#listedAt.size >= MAX_LISTED) this.#listedAt.clear();
      this.#listedAt.set(ue, now);
      listing = this.#redis.zadd(sweptQueuesKey(this.#prefix), now, ue).catch((error: unknown) => {
        if (this.#listedAt.get(ue) === now) this.#listedAt.delete(ue);
        throw error;
      });
    }
    const admitting = this.#redis.edgesplitAdmit(
      key,
      `${key}:bytes`,
      jobKey,
      incomingKey(this.#prefix, ue, requestId),
      claimKey(this.#prefix, ue, requestId),
      now,
      requestId,
      bytes,
      maxJobs,
      maxBytes,
      lifeMs,
      claimKey(this.#prefix, ue, ''),
    );
    const [[verdict, jobs, total]] = await Promise.all([admitting, listing]);
    if (verdict === 1) return { ok: true, jobs, bytes: total };
    if (verdict === 2) return { ok: false, limit: 'duplicate' };
    if (verdict === 3) return { ok: false, limit: 'unstored' };
    return { ok: false, limit: verdict === 0 ? 'jobs' : 'bytes', jobs, bytes: total };
  }

  /** Forgets a request (its job was not added, or was removed). */
  async release(ue: string, requestId: string): Promise<void> {
    const key = backlogKey(this.#prefix, ue);
    await this.#redis.edgesplitRelease(key, `${key}:bytes`, requestId);
  }
}
