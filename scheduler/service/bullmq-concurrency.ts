import { Queue } from 'bullmq';
import { type RedisClient, ueQueueName } from '../../proto/index.js';
import type { ConcurrencyPort } from './ports.js';

/**
 * `ConcurrencyPort` over BullMQ: one `Queue` per UE queue (`ueQueueName`, BullMQ `prefix` = the
 * Redis prefix), created on first use and kept, all sharing the one Redis connection handed in.
 */
export class BullmqConcurrency implements ConcurrencyPort {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  async setConcurrency(ue: string, concurrency: number): Promise<void> {
    await this.queue(ue).setGlobalConcurrency(concurrency);
  }

  /** Closes the queues; the shared connection stays open (its owner quits it). */
  async close(): Promise<void> {
    const queues = [...this.queues.values()];
    this.queues.clear();
    await Promise.allSettled(queues.map((queue) => queue.close()));
  }

  private queue(ue: string): Queue {
    let queue = this.queues.get(ue);
    if (queue === undefined) {
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
