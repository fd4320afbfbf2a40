/**
 * When the broker's TCP acknowledged the last byte of an upload, from the kernel's count of
 * bytes written and not yet acknowledged (`tx_queue` in /proc/net/tcp, Linux). The broker's
 * kernel acknowledges data as it arrives, before the broker (busy, or storing a tensor before
 * its PUBACK) reads it: an upload timed to that moment is timed by the link, not by the edge's
 * processing (docs/links-and-lab.md, "How a link is measured"). Elsewhere, or when the socket
 * is not found, there is no such moment and the upload is timed by its PUBACKs.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';

const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');

/**
 * The send queue (bytes written, not acknowledged) of the established TCP socket with ports
 * `local` and `remote` in /proc/net/tcp-format `tables`; undefined if it is not there.
 */
export function sendQueueOf(
  tables: readonly string[],
  local: number,
  remote: number,
): number | undefined {
  const localSuffix = `:${hexPort(local)}`;
  const remoteSuffix = `:${hexPort(remote)}`;
  for (const table of tables)
    for (const line of table.split('\n')) {
      const [, localAddress, remoteAddress, state, queues] = line.trim().split(/\s+/);
      if (state !== '01' || queues === undefined) continue; // 01: established
      if (!localAddress?.endsWith(localSuffix) || !remoteAddress?.endsWith(remoteSuffix)) continue;
      const tx = Number.parseInt(queues.split(':')[0] ?? '', 16);
      return Number.isFinite(tx) ? tx : undefined;
    }
  return undefined;
}

function readTables(): string[] {
  const tables: string[] = [];
  for (const path of ['/proc/net/tcp', '/proc/net/tcp6'])
    try {
      tables.push(readFileSync(path, 'utf8'));
    } catch {
      // not Linux, or no IPv6
    }
  return tables;
}

/** How often the send queue is read while an upload is on the wire. */
const POLL_MS = 5;

/** What a watch saw of one upload's bytes leaving the send queue. */
export interface Delivery {
  /** When the send queue emptied after the last write. */
  readonly drainedAt?: number;
  /**
   * Readings with nothing of the upload left in Node's buffer: when, and how many of its bytes
   * the broker's TCP had acknowledged by then.
   */
  readonly acknowledged: readonly { readonly at: number; readonly bytes: number }[];
  /** The last reading at which the kernel had none of the upload's bytes yet, if any. */
  readonly notStartedAt?: number;
}

/**
 * One upload's delivery from readings of its connection's send queue (pure: fed the readings,
 * so it is tested on recorded ones; docs/links-and-lab.md, "How a link is measured").
 */
export class DeliveryLog {
  #queued = false;
  #drainedAt: number | undefined;
  #notStartedAt: number | undefined;
  #inKernel = false;
  #acknowledged: { at: number; bytes: number }[] = [];
  /** Bytes of the upload written so far. */
  #written = 0;
  /** The kernel's unacknowledged bytes at the latest reading. */
  #lastTx = 0;

  /** Bytes in the kernel not yet acknowledged at the latest reading (Node may hold more). */
  get unacknowledgedInKernel(): number {
    return this.#lastTx;
  }

  /** `bytes` more of the upload were written. */
  written(bytes: number): void {
    this.#written += bytes;
    this.#drainedAt = undefined;
  }

  /**
   * A reading at `at`: `tx` bytes in the kernel not yet acknowledged (`tx_queue`), `buffered`
   * bytes still in Node's buffer (`socket.writableLength`).
   */
  reading(at: number, tx: number, buffered: number): void {
    if (this.#drainedAt !== undefined) return;
    this.#lastTx = tx;
    if (tx + buffered === 0) {
      if (this.#queued) this.#drainedAt = at;
      return;
    }
    this.#queued = true;
    // Written bytes leave Node's buffer on the next tick (mqtt.js corks the socket for a packet).
    if (tx === 0 && !this.#inKernel) this.#notStartedAt = at;
    else this.#inKernel = true;
    // A write's bytes count in Node's buffer whole until it completes, even those the kernel
    // took: only a reading with that buffer empty tells how many were acknowledged. The send
    // queue may hold a few bytes of other messages (a PUBACK, stats): then the upload reads a
    // little slower than it went, never faster.
    if (buffered === 0 && tx < this.#written)
      this.#acknowledged.push({ at, bytes: this.#written - tx });
  }

  get drained(): boolean {
    return this.#drainedAt !== undefined;
  }

  /**
   * How long the bytes not yet acknowledged take at the rate they were acknowledged over the
   * last `windowMs` up to the latest reading: Infinity when none were then, undefined when the
   * readings do not span that long.
   */
  remainingMs(windowMs: number): number | undefined {
    const points = this.#acknowledged;
    const last = points.at(-1);
    if (last === undefined) return undefined;
    const first = points.findLast((point) => last.at - point.at >= windowMs);
    if (first === undefined) return undefined;
    const rate = (last.bytes - first.bytes) / (last.at - first.at);
    return rate > 0 ? (this.#written - last.bytes) / rate : Number.POSITIVE_INFINITY;
  }

  get delivery(): Delivery {
    return {
      ...(this.#drainedAt === undefined ? {} : { drainedAt: this.#drainedAt }),
      acknowledged: this.#acknowledged,
      ...(this.#notStartedAt === undefined ? {} : { notStartedAt: this.#notStartedAt }),
    };
  }
}

/** Watches one upload's bytes leave the send queue of the agent's connection. */
export class SendQueueWatch {
  readonly #socket: () => Socket | undefined;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #log = new DeliveryLog();

  constructor(socket: () => Socket | undefined, now: () => number) {
    this.#socket = socket;
    this.#now = now;
  }

  /** `bytes` more of the upload were just written: watch them leave. */
  written(bytes: number): void {
    this.#log.written(bytes);
    this.#poll();
    if (this.#timer === undefined && !this.#log.drained) {
      this.#timer = setInterval(() => this.#poll(), POLL_MS);
      this.#timer.unref();
    }
  }

  /** Whether the broker's TCP has acknowledged everything written so far. */
  get drained(): boolean {
    return this.#log.drained;
  }

  /** See DeliveryLog.remainingMs. */
  remainingMs(windowMs: number): number | undefined {
    return this.#log.remainingMs(windowMs);
  }

  /** See DeliveryLog.unacknowledgedInKernel. */
  get unacknowledgedInKernel(): number {
    return this.#log.unacknowledgedInKernel;
  }

  /** Stops watching; returns what it saw (nothing: the socket was not found). */
  stop(): Delivery {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const seen = this.#log.delivery;
    this.#log = new DeliveryLog();
    return seen;
  }

  #poll(): void {
    if (this.#log.drained) return;
    const socket = this.#socket();
    if (socket?.localPort === undefined || socket.remotePort === undefined) return;
    const tx = sendQueueOf(readTables(), socket.localPort, socket.remotePort);
    if (tx === undefined) return;
    this.#log.reading(this.#now(), tx, socket.writableLength);
    if (this.#log.drained) {
      clearInterval(this.#timer); // nothing more to see until the next write
      this.#timer = undefined;
    }
  }
}
