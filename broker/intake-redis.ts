/**
 * The ingress's three Redis connections, each sending the commands that start in one turn of the
 * event loop in one write (runtime/redis-writes.ts; on a cluster, auto-pipelining): the backlog
 * scripts with the tensors up to the batched size (`commands`), BullMQ's adds (`queues`: an
 * auto-pipelined batch would copy the dozens of scripts BullMQ defines on its connection), and
 * bigger tensors (`tensors`). Tells whether Redis is there, and closes them.
 */
import { createRedis, isClusterUrl, type RedisClient } from '../runtime/redis-connect.js';
import { gatherWrites } from '../runtime/redis-writes.js';
import type { Logger } from './log.js';

/** ioredis states of a client that had Redis and lost it, or was closed. */
const LOST: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

export class IntakeRedis {
  /** The backlog scripts, the tensors sent with them, kept answers and claim deletions. */
  readonly commands: RedisClient;
  /** BullMQ's Queue objects. */
  readonly queues: RedisClient;
  /** Tensors too big to be sent with the backlog script. */
  readonly tensors: RedisClient;
  readonly #all: readonly RedisClient[];
  /** Whether every connection was ready once: from then on, one not ready has lost Redis. */
  #hadRedis = false;

  /** Connects to `redisUrl`; errors are logged on `logger`. */
  constructor(redisUrl: string, logger: Logger) {
    this.commands = createRedis(redisUrl, { enableAutoPipelining: isClusterUrl(redisUrl) });
    this.queues = createRedis(redisUrl);
    this.tensors = createRedis(redisUrl);
    this.#all = [this.commands, this.queues, this.tensors];
    for (const connection of this.#all) {
      gatherWrites(connection);
      connection.on('error', (error: Error) => logger.error(`redis: ${error.message}`));
      connection.on('ready', () => {
        this.#hadRedis ||= this.ready();
      });
    }
  }

  /** Every connection is ready now. */
  ready(): boolean {
    return this.#all.every((connection) => connection.status === 'ready');
  }

  /**
   * Throws when a connection lost Redis: commands given to it would wait in its offline queue,
   * each with its tensor, so Redis being away would hold memory here. While the first
   * connections are being made (the ingress just started) it does not throw: commands wait.
   */
  checkConnected(): void {
    for (const connection of this.#all)
      if (connection.status !== 'ready' && (this.#hadRedis || LOST.has(connection.status)))
        throw new Error(`not connected to Redis (${connection.status})`);
  }

  /** Closes every connection; one not connected is dropped at once. */
  async close(): Promise<void> {
    for (const connection of this.#all) {
      // QUIT given to a client that is not connected would wait for Redis to come back.
      if (connection.status !== 'ready') connection.disconnect();
      else await connection.quit().catch(() => connection.disconnect());
    }
  }
}
