import { Queue } from 'bullmq';
import { ueQueueName } from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import type { RedisClient } from '../../runtime/redis-connect.js';
import type { ConcurrencyPort } from './ports.js';

/** Most idle `Queue` objects kept: each holds about 12 KiB, so 10,000 UEs' would hold 120 MiB. */
export const MAX_KEPT_QUEUES = 1024;

/**
 * `ConcurrencyPort` over BullMQ: one `Queue` per UE queue (`ueQueueName`, BullMQ `prefix` = the
 * Redis prefix), created on first use, all sharing the one Redis connection handed in. The most
 * recently used are kept; beyond `MAX_KEPT_QUEUES`, the least recently used idle ones are
 * closed (the shared connection stays open).
 */
export class BullmqConcurrency implements ConcurrencyPort {
  /** In order of last use, oldest first. */
  private readonly queues = new Map<string, Queue>();
  /** Calls in progress per UE: a queue in use is never closed. */
  private readonly busy = new Map<string, number>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  async setConcurrency(ue: string, concurrency: number): Promise<void> {
    const queue = this.queue(ue);
    this.busy.set(ue, (this.busy.get(ue) ?? 0) + 1);
    try {
      await queue.setGlobalConcurrency(concurrency);
    } finally {
      const left = (this.busy.get(ue) ?? 1) - 1;
      if (left === 0) this.busy.delete(ue);
      else this.busy.set(ue, left);
      this.trim();
    }
  }

  /** Closes the least recently used idle queues beyond MAX_KEPT_QUEUES. */
  private trim(): void {
    if (this.queues.size <= MAX_KEPT_QUEUES) return;
    for (const [ue, queue] of this.queues) {
      if (this.queues.size <= MAX_KEPT_QUEUES) break;
      if (this.busy.has(ue)) continue;
      this.queues.delete(ue);
      queue.close().catch((error: unknown) => {
        this.onError(asError(error));
      });
    }
  }

  /** Closes the queues; the shared connection stays open (its owner quits it). */
  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(queues.map((queue) => queue.close()));
  }

  private queue(ue: string): Queue {
    let queue = this.queues.get(ue);
    if (queue !== undefined) {
      // Most recently used last.
      this.queues.delete(ue);
      this.queues.set(ue, queue);
    } else {
      // The scheduler only writes queue settings: it leaves the queue's metadata to producers.
      queue = new Queue(ueQueueName(ue), {
        connection: this.connection,
        prefix: this.prefix,
        skipMetasUpdate: true,
      });
      queue.on('error', this.onError);
      this.queues.set(ue, queue);
    }
    return queue;
  }
}
