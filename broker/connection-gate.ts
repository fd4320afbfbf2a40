/**
 * Connections that have not logged in yet. Each must complete its login (TLS handshake,
 * WebSocket upgrade, CONNECT and authentication) within the login timeout, counted from the
 * moment the TCP connection is accepted; one remote address may have only so many of them open
 * at once, so that a flood of sockets that never log in cannot take every file descriptor of
 * the broker and lock out everyone else.
 */
import type { Socket } from 'node:net';

/** Limits of `ConnectionGate`. */
export interface GateLimits {
  /** Milliseconds from accept to a successful login; later, the socket is destroyed. */
  readonly loginTimeoutMs: number;
  /** Most connections of one remote address not logged in yet; 0: no limit. */
  readonly maxPendingPerAddress: number;
}

/** Why the gate closed a connection. */
export type GateRefusal =
  | { readonly kind: 'timeout'; readonly remote: string; readonly ms: number }
  | { readonly kind: 'cap'; readonly remote: string; readonly max: number }
  | { readonly kind: 'bytes'; readonly remote: string; readonly max: number };

/** The address fields of a TCP socket, or of a TLS socket over one. */
export interface SocketAddress {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localPort?: number | undefined;
}

interface PendingEntry {
  readonly socket: Socket;
  readonly address: string;
  readonly timer: NodeJS.Timeout;
}

/**
 * The key of a connection: a raw TCP socket and the TLS socket or HTTP request over it share
 * it, and no two open connections of the broker have the same.
 */
function keyOf(socket: SocketAddress): string | undefined {
  const { remoteAddress, remotePort, localPort } = socket;
  if (remoteAddress === undefined || remotePort === undefined || localPort === undefined)
    return undefined;
  return `${localPort}|${remoteAddress}|${remotePort}`;
}

export class ConnectionGate {
  readonly #limits: GateLimits;
  readonly #onRefuse: (refusal: GateRefusal) => void;
  readonly #pending = new Map<string, PendingEntry>();
  readonly #perAddress = new Map<string, number>();

  constructor(limits: GateLimits, onRefuse: (refusal: GateRefusal) => void) {
    const { loginTimeoutMs, maxPendingPerAddress } = limits;
    if (!Number.isSafeInteger(loginTimeoutMs) || loginTimeoutMs < 1)
      throw new RangeError(
        `the login timeout must be a positive integer of ms, not ${loginTimeoutMs}`,
      );
    if (!Number.isSafeInteger(maxPendingPerAddress) || maxPendingPerAddress < 0)
      throw new RangeError(
        `the most pending connections per address must be an integer >= 0, not ${maxPendingPerAddress}`,
      );
    this.#limits = limits;
    this.#onRefuse = onRefuse;
  }

  /** Milliseconds a connection has from accept to log in. */
  get loginTimeoutMs(): number {
    return this.#limits.loginTimeoutMs;
  }

  /** Connections not logged in yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Takes a just-accepted raw TCP socket: destroys it at once if its address is at the cap,
   * else starts its login deadline. Returns whether it was admitted.
   */
  admit(socket: Socket): boolean {
    const key = keyOf(socket);
    const address = socket.remoteAddress;
    if (key === undefined || address === undefined) {
      // Already gone (reset before it was accepted).
      socket.destroy();
      return false;
    }
    const remote = `${address}:${socket.remotePort}`;
    const { maxPendingPerAddress: max, loginTimeoutMs: ms } = this.#limits;
    const count = this.#perAddress.get(address) ?? 0;
    if (max > 0 && count >= max) {
      socket.destroy();
      this.#onRefuse({ kind: 'cap', remote, max });
      return false;
    }
    const timer = setTimeout(() => {
      if (this.#pending.get(key)?.socket !== socket) return;
      this.#release(key);
      socket.destroy();
      this.#onRefuse({ kind: 'timeout', remote, ms });
    }, ms);
    timer.unref();
    this.#pending.set(key, { socket, address, timer });
    this.#perAddress.set(address, count + 1);
    socket.once('close', () => {
      if (this.#pending.get(key)?.socket === socket) this.#release(key);
    });
    return true;
  }

  /** Whether the connection of `socket` (raw, TLS or an HTTP request's) has yet to log in. */
  isPending(socket: SocketAddress): boolean {
    const key = keyOf(socket);
    return key !== undefined && this.#pending.has(key);
  }

  /** The connection of `socket` logged in: its deadline stops and it no longer counts. */
  settle(socket: SocketAddress): void {
    const key = keyOf(socket);
    if (key !== undefined) this.#release(key);
  }

  /**
   * Destroys `socket` if more than `max` bytes arrive on it before its connection logs in. For
   * transports that buffer whole messages before the MQTT stream sees them (WebSocket).
   */
  capBytesBeforeLogin(socket: Socket, max: number): void {
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      if (!this.isPending(socket)) {
        socket.off('data', onData);
        return;
      }
      bytes += chunk.length;
      if (bytes <= max) return;
      socket.off('data', onData);
      socket.destroy();
      this.#onRefuse({
        kind: 'bytes',
        remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`,
        max,
      });
    };
    socket.on('data', onData);
  }

  /** Stops every deadline (the listeners destroy the sockets). */
  clear(): void {
    for (const key of [...this.#pending.keys()]) this.#release(key);
  }

  #release(key: string): void {
    const entry = this.#pending.get(key);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.#pending.delete(key);
    const left = (this.#perAddress.get(entry.address) ?? 1) - 1;
    if (left <= 0) this.#perAddress.delete(entry.address);
    else this.#perAddress.set(entry.address, left);
  }
}
