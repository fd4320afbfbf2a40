/** The connections the broker accepted and the bytes read from and written to them. */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Counts of `Traffic`, since the broker started. */
export interface TrafficCounts {
  /** Connections accepted on all listeners. */
  readonly connections: number;
  /** Bytes read from and written to client connections (WebSocket: the underlying socket). */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/**
 * Counts accepted connections and their bytes: those of a closed socket are added when it
 * closes, those of the open ones are read when asked.
 */
export class Traffic {
  #connections = 0;
  /** Bytes of the closed connections. */
  readonly #closed = { in: 0, out: 0 };
  /** The sockets open now. */
  readonly #open = new Set<Socket>();

  /** Counts an accepted connection: its own socket (TCP, TLS) or its HTTP request's (WebSocket). */
  accepted(stream: Duplex, request?: IncomingMessage): void {
    this.#connections += 1;
    const socket = (request?.socket ?? stream) as Socket;
    if (typeof socket.bytesRead === 'number' && !this.#open.has(socket)) {
      this.#open.add(socket);
      socket.once('close', () => {
        this.#closed.in += socket.bytesRead;
        this.#closed.out += socket.bytesWritten;
        this.#open.delete(socket);
      });
    }
  }

  counts(): TrafficCounts {
    let bytesIn = this.#closed.in;
    let bytesOut = this.#closed.out;
    for (const socket of this.#open) {
      bytesIn += socket.bytesRead;
      bytesOut += socket.bytesWritten;
    }
    return { connections: this.#connections, bytesIn, bytesOut };
  }
}
