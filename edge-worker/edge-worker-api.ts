/** What a running edge worker offers its caller: its identity, its counters, and close. */
import type { QueueMode } from './queue-workers.js';

/** One UE queue as this worker sees it. */
export interface QueueStats {
  /** Units of the UE this worker serves (the packing). */
  readonly share: number;
  /** Concurrency of its BullMQ Worker, 0 when it has none. */
  readonly concurrency: number;
  readonly mode: QueueMode | 'closed';
  readonly running: number;
  readonly completed: number;
  readonly failed: number;
}

export interface EdgeWorkerStats {
  /** Jobs running now (each holds one of the declared units). */
  readonly running: number;
  /** Most jobs ever running at once: never above the declared units. */
  readonly maxRunning: number;
  /** Jobs taken from a queue but waiting for a free unit. */
  readonly waitingForSlot: number;
  readonly completed: number;
  readonly failed: number;
  /** By UE id. */
  readonly perQueue: Readonly<Record<string, QueueStats>>;
}

/** A running edge worker. */
export interface EdgeWorker {
  readonly id: string;
  readonly units: number;
  stats(): EdgeWorkerStats;
  /** Whether it is connected to the broker and to Redis now. */
  connected(): { readonly mqtt: boolean; readonly redis: boolean };
  /** Stops taking jobs, finishes those in flight, publishes `offline`, disconnects. */
  close(): Promise<void>;
}
