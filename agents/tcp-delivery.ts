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

/** Watches one upload's bytes leave the send queue of the agent's connection. */
export class SendQueueWatch {
  readonly #socket: () => Socket | undefined;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #queued = false;
  #drainedAt: number | undefined;

  constructor(socket: () => Socket | undefined, now: () => number) {
    this.#socket = socket;
    this.#now = now;
  }

  /** Bytes of the upload were just written: watch them leave. */
  written(): void {
    this.#drainedAt = undefined;
    this.#poll();
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#poll(), POLL_MS);
      this.#timer.unref();
    }
  }

  /** Whether the broker's TCP has acknowledged everything written so far. */
  get drained(): boolean {
    return this.#drainedAt !== undefined;
  }

  /** Stops watching; returns when the send queue emptied after the last write, if seen. */
  stop(): number | undefined {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const drainedAt = this.#drainedAt;
    this.#queued = false;
    this.#drainedAt = undefined;
    return drainedAt;
  }

  #poll(): void {
    if (this.#drainedAt !== undefined) return;
    const socket = this.#socket();
    if (socket?.localPort === undefined || socket.remotePort === undefined) return;
    const tx = sendQueueOf(readTables(), socket.localPort, socket.remotePort);
    if (tx === undefined) return;
    const queued = tx + socket.writableLength;
    if (queued > 0) this.#queued = true;
    else if (this.#queued) {
      this.#drainedAt = this.#now();
      clearInterval(this.#timer); // nothing more to see until the next write
      this.#timer = undefined;
    }
  }
}
