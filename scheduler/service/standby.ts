/**
 * Leader and standbys (docs/security.md, "Faults"): every scheduler process competes for
 * one Redis lock (`LeaderLock`). The holder runs the scheduler service; the others stand by,
 * trying again every third of the lock's life. A leader that dies stops renewing, so a standby
 * takes over within that life and rebuilds the fleet state (and the epoch) from retained
 * messages and the ledger; one that stops cleanly releases the lock and is replaced at once. A
 * leader that cannot renew in time stops solving before its lock can have passed to another, and
 * every solve is fenced by the lock (decision-ledger.ts): a leader paused past its lock's life
 * (SIGSTOP, a long GC pause) learns it lost the lock at its next publish, publishes nothing and
 * stands by.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { asError } from '../../runtime/as-error.js';
import { createRedis } from '../../runtime/redis-connect.js';
import { SchedulerOptionsError } from './errors.js';
import { LeaderLock, leaderKey } from './leader-lock.js';
import { resolveSchedulerOptions, type SchedulerOptions } from './options.js';
import { type Scheduler, startScheduler } from './scheduler-service.js';

/** Options of `startStandbyScheduler` besides the scheduler's own. */
export interface StandbyOptions {
  /**
   * Life of the leadership without renewal: the longest a dead leader goes unreplaced.
   * @defaultValue 3000
   */
  readonly lockTtlMs?: number;
  /** This process leads now: `scheduler` is its running service (attach listeners here). */
  readonly onLeading?: (scheduler: Scheduler) => void;
  /** This process stands by; `leader` is who leads, if known. */
  readonly onStandby?: (leader: string | null) => void;
  /** This process stopped leading, and why. */
  readonly onStepDown?: (reason: string) => void;
  /** Redis or start-up failures; the process keeps trying. */
  readonly onError?: (error: Error) => void;
}

export const DEFAULT_LOCK_TTL_MS = 3000;

/** A scheduler process that leads or stands by. */
export interface StandbyScheduler {
  readonly id: string;
  role(): 'leader' | 'standby';
  /** The running service while leading. */
  current(): Scheduler | undefined;
  /** Whether its own Redis connection (the leadership lock's) is ready. */
  redisConnected(): boolean;
  /** Stops (releasing the leadership if held). Idempotent. */
  close(): Promise<void>;
}

export function startStandbyScheduler(
  options: SchedulerOptions,
  standby: StandbyOptions = {},
): StandbyScheduler {
  const config = resolveSchedulerOptions(options);
  const ttl = standby.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  if (!Number.isSafeInteger(ttl) || ttl < 300)
    throw new SchedulerOptionsError('lockTtlMs', 'must be an integer of at least 300 ms');
  const onError = (error: unknown) => standby.onError?.(asError(error));
  const redis = createRedis(config.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', onError);
  const lock = new LeaderLock(redis, leaderKey(config.redisPrefix), config.id, ttl);
  let closing: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const pause = (ms: number) => Promise.race([sleep(ms), closed]);
  let leading: Scheduler | undefined;

  /** Renews every third of the life; resolves with a reason once the leadership is lost. */
  const keep = () => {
    let renewedAt = performance.now();
    let stop = false;
    const lost = (async (): Promise<string | undefined> => {
      while (!stop && closing === undefined) {
        await pause(ttl / 3);
        if (stop || closing !== undefined) return undefined;
        try {
          if (!(await lock.renew())) return 'another scheduler holds the leadership';
          renewedAt = performance.now();
        } catch (error) {
          onError(error);
          // Step down before the lock can have expired and passed to a standby.
          if (performance.now() - renewedAt >= (ttl * 2) / 3)
            return 'could not renew the leadership in time';
        }
      }
      return undefined;
    })();
    return {
      lost,
      stop: () => {
        stop = true;
      },
    };
  };

  const lead = async () => {
    const keeper = keep();
    let scheduler: Scheduler;
    try {
      scheduler = await startScheduler({ ...options, id: config.id, fenced: true });
    } catch (error) {
      keeper.stop();
      onError(error);
      await lock.release().catch(onError);
      await pause(ttl / 3);
      return;
    }
    const deposed = new Promise<string>((resolve) =>
      scheduler.on('deposed', ({ reason }) => resolve(reason)),
    );
    leading = scheduler;
    standby.onLeading?.(scheduler);
    const reason = await Promise.race([keeper.lost, deposed, closed.then(() => undefined)]);
    keeper.stop();
    leading = undefined;
    if (reason !== undefined) standby.onStepDown?.(reason);
    await scheduler.close().catch(onError);
  };

  const loop = (async () => {
    let shownLeader: string | null | undefined;
    while (closing === undefined) {
      try {
        if (await lock.acquire()) {
          shownLeader = undefined;
          await lead();
          continue;
        }
        const leader = await lock.holder();
        if (leader !== shownLeader) standby.onStandby?.(leader);
        shownLeader = leader;
      } catch (error) {
        onError(error);
      }
      await pause(ttl / 3);
    }
  })();

  return {
    id: config.id,
    role: () => (leading === undefined ? 'standby' : 'leader'),
    current: () => leading,
    redisConnected: () => redis.status === 'ready',
    close: () => {
      closing ??= (async () => {
        markClosed();
        await loop;
        await lock.release().catch(() => {});
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}
