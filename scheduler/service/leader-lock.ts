/**
 * The scheduler's leadership: one Redis key holding the leader's id with a time to live. The
 * leader renews it well before it expires; a standby takes it once it is gone (its leader died
 * or stepped down). Renewing and releasing check the holder, so a scheduler that lost the key
 * never extends or deletes its successor's.
 */

import { SCHEDULER_TAG } from '../../proto/index.js';
import type { RedisClient } from '../../runtime/redis-connect.js';

/** Extends the key's life only if `id` still holds it. 1: renewed, 0: lost. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Deletes the key only if `id` holds it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** The key of the scheduler leadership under a Redis prefix (in the scheduler's slot). */
export function leaderKey(redisPrefix: string): string {
  return `${redisPrefix}:${SCHEDULER_TAG}:leader`;
}

export class LeaderLock {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly id: string,
    private readonly ttlMs: number,
  ) {}

  /** Takes the leadership if nobody holds it. */
  async acquire(): Promise<boolean> {
    return (await this.redis.set(this.key, this.id, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  /** Extends the leadership; false when another scheduler holds it now (or nobody does). */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key, this.id, this.ttlMs)) === 1;
  }

  /** Gives the leadership up, if held, so a standby takes over at once. */
  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.id);
  }

  /** Who leads now, if anybody. */
  holder(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}
