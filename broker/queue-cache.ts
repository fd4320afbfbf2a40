/**
 * BullMQ Queue objects of the UEs that are sending, one per UE queue, all on one shared Redis
 * connection. Bounded: queues idle for a while, or the least recently used ones beyond the
 * limit, are closed (a Queue object is only a producer handle; closing it loses nothing).
 */
import { Queue } from 'bullmq';
import { QUEUE_EVENTS_MAX_LEN, type TailJobData, ueQueueName } from '../proto/index.js';
import type { RedisClient } from '../runtime/redis-connect.js';
import type { Logger } from './log.js';

interface Entry {
  readonly queue: Queue<TailJobData>;
  /** Adds in progress on this queue; an entry in use is never closed. */
  users: number;
  lastUsed: number;
}

/** Options of `QueueCache`. */
export interface QueueCacheOptions {
  readonly connection: RedisClient;
  /** BullMQ `prefix`. */
  readonly prefix: string;
  /** Most queues kept open when idle. */
  readonly maxQueues: number;
  /** A queue unused for this long is closed. */
  readonly idleMs: number;
  readonly logger: Logger;
}

export class QueueCache {
  // Map order is recency order: an entry is moved to the end whenever it is used.
  readonly #entries = new Map<string, Entry>();
  readonly #options: QueueCacheOptions;
  readonly #sweeper: NodeJS.Timeout;
  readonly #closing = new Set<Promise<void>>();

  constructor(options: QueueCacheOptions) {
    this.#options = options;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(options.idleMs / 2, 10));
    this.#sweeper.unref();
  }

  /** Number of open queues. */
  get size(): number {
    return this.#entries.size;
  }

  /** The queue of `ue`, opened if needed; pair every call with `release(ue)`. */
  acquire(ue: string): Queue<TailJobData> {
    let entry = this.#entries.get(ue);
    if (entry === undefined) {
      const queue = new Queue<TailJobData>(ueQueueName(ue), {
        connection: this.#options.connection,
        prefix: this.#options.prefix,
        streams: { events: { maxLen: QUEUE_EVENTS_MAX_LEN } },
      });
      queue.on('error', (error) =>
        this.#options.logger.error(`queue ${ueQueueName(ue)}: ${error.message}`),
      );
      entry = { queue, users: 0, lastUsed: 0 };
    } else {
      this.#entries.delete(ue);
    }
    entry.users += 1;
    entry.lastUsed = Date.now();
    this.#entries.set(ue, entry);
    this.#trim();
    return entry.queue;
  }

  release(ue: string): void {
    const entry = this.#entries.get(ue);
    if (entry !== undefined) entry.users = Math.max(0, entry.users - 1);
  }

  /** Closes every queue. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const ue of [...this.#entries.keys()]) this.#evict(ue);
    await Promise.all(this.#closing);
  }

  #evict(ue: string): void {
    const entry = this.#entries.get(ue);
    if (entry === undefined) return;
    this.#entries.delete(ue);
    const closing = entry.queue
      .close()
      .catch((error: unknown) =>
        this.#options.logger.warn(`closing queue ${ueQueueName(ue)}: ${String(error)}`),
      )
      .finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
  }

  /** Closes least recently used idle queues beyond the limit. */
  #trim(): void {
    let excess = this.#entries.size - this.#options.maxQueues;
    for (const [ue, entry] of this.#entries) {
      if (excess <= 0) return;
      if (entry.users > 0) continue;
      this.#evict(ue);
      excess -= 1;
    }
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#options.idleMs;
    for (const [ue, entry] of this.#entries) {
      // Entries are in recency order: the first recent one ends the idle run.
      if (entry.lastUsed > cutoff) break;
      if (entry.users === 0) this.#evict(ue);
    }
  }
}
