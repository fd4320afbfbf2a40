/**
 * Cuts a connection as soon as a packet header announces more bytes than allowed, before the
 * broker buffers them: aedes's parser otherwise holds a whole packet (up to 256 MiB
 * [MQTT-2.2.3]) in memory, even from a client that has not authenticated yet. Before the client
 * has authenticated, the limit is the much smaller pre-authentication one and counts every byte
 * read. A packet that has started must also arrive in full within the packet timeout, whatever
 * the keepalive (0 turns aedes's own idle check off).
 */
import type { Duplex } from 'node:stream';
import { defined } from '../runtime/defined.js';

/** MQTT control packet types by the high nibble of the first byte [MQTT-2.2.1]. */
export const PACKET_TYPES: Readonly<Record<number, string>> = {
  1: 'connect',
  3: 'publish',
  8: 'subscribe',
  10: 'unsubscribe',
};

/** A packet header that announced too many bytes. */
export interface OversizeFrame {
  /** Control packet type (1 connect, 3 publish, 8 subscribe, ...). */
  readonly type: number;
  /** The remaining length the header announced, or -1 for a malformed length. */
  readonly length: number;
}

/** Follows packet boundaries in a byte stream without copying or parsing bodies. */
export class FrameMeter {
  #maxFrameBytes: number;
  #state: 'header' | 'length' | 'body' = 'header';
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;
  #started = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Changes the limit for the frames whose header is not complete yet. */
  set maxFrameBytes(bytes: number) {
    this.#maxFrameBytes = bytes;
  }

  /** Whether the bytes fed so far end inside a packet (its header or body). */
  get midFrame(): boolean {
    return this.#state !== 'header';
  }

  /** Packets started so far: tells one unfinished packet from the next. */
  get started(): number {
    return this.#started;
  }

  /** Control packet type of the packet started last. */
  get type(): number {
    return this.#type;
  }

  /** Feeds the next chunk; returns the first oversize or malformed frame, if any. */
  feed(chunk: Uint8Array): OversizeFrame | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const skip = Math.min(this.#remaining, chunk.length - i);
        i += skip;
        this.#remaining -= skip;
        if (this.#remaining === 0) this.#state = 'header';
        continue;
      }
      const byte = defined(chunk[i++], 'a byte inside the chunk');
      if (this.#state === 'header') {
        this.#type = byte >> 4;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        this.#started += 1;
        this.#state = 'length';
        continue;
      }
      // Remaining length: up to four bytes, seven bits each, least significant first [MQTT-2.2.3].
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes += 1;
      if ((byte & 0x80) !== 0) {
        if (this.#lengthBytes === 4) return { type: this.#type, length: -1 };
        continue;
      }
      if (this.#length > this.#maxFrameBytes) return { type: this.#type, length: this.#length };
      this.#remaining = this.#length;
      this.#state = this.#remaining === 0 ? 'header' : 'body';
    }
    return undefined;
  }
}

/** Limits of `guardFrames`. */
export interface FrameLimits {
  /** Largest remaining length of a packet once the client has authenticated. */
  readonly maxFrameBytes: number;
  /**
   * Most bytes read from a client before it has authenticated, its CONNECT (will included)
   * among them; also the largest remaining length of a packet until then.
   */
  readonly maxPreAuthBytes: number;
  /** Milliseconds a packet may take from its first byte to its last. */
  readonly packetTimeoutMs: number;
}

/** Why the guard closed a connection. */
export type FrameProblem =
  | {
      readonly kind: 'oversize';
      readonly type: number;
      readonly length: number;
      readonly limit: number;
      readonly beforeAuth: boolean;
    }
  | { readonly kind: 'malformed'; readonly type: number }
  | { readonly kind: 'pre-auth bytes'; readonly bytes: number; readonly limit: number }
  | { readonly kind: 'timeout'; readonly type: number; readonly ms: number };

/** Longest fixed header: one byte of type and flags, four of remaining length [MQTT-2.2]. */
const MAX_HEADER_BYTES = 5;

/** A guarded connection. */
export interface FrameGuard {
  /** The client authenticated: the full frame limit applies from its next packet on. */
  authenticated(): void;
}

/**
 * Watches what aedes reads from `stream` and destroys the stream at the first oversize or
 * malformed frame, at too many bytes before authentication, or at a packet that stays
 * incomplete for `packetTimeoutMs`. A 'data' listener only observes here: aedes reads with a
 * 'readable' listener, which takes precedence, so 'data' fires for each chunk `read()` hands out
 * (before aedes parses it) and the flow is unchanged. Call after `aedes.handle(stream)`.
 */
export function guardFrames(
  stream: Duplex,
  limits: FrameLimits,
  onProblem: (problem: FrameProblem) => void,
): FrameGuard {
  const { maxFrameBytes, packetTimeoutMs } = limits;
  const preAuthFrame = Math.min(limits.maxPreAuthBytes, maxFrameBytes);
  const preAuthTotal = limits.maxPreAuthBytes + MAX_HEADER_BYTES;
  const meter = new FrameMeter(preAuthFrame);
  let authed = false;
  let readBeforeAuth = 0;
  let timer: NodeJS.Timeout | undefined;
  let timedPacket = 0;

  const stop = (problem: FrameProblem) => {
    stream.off('data', onData);
    if (timer !== undefined) clearTimeout(timer);
    onProblem(problem);
    stream.destroy(new Error(`connection closed: ${problem.kind}`));
  };

  const onTimer = () => {
    if (!meter.midFrame || meter.started !== timedPacket) return;
    // Bytes waiting unread: the broker, not the client, is behind (it pauses a publisher whose
    // publishes are still being handled). Not the client's fault; look again later.
    if (stream.readableLength > 0) {
      timer?.refresh();
      return;
    }
    stop({ kind: 'timeout', type: meter.type, ms: packetTimeoutMs });
  };

  const onData = (chunk: Buffer) => {
    if (!authed) {
      readBeforeAuth += chunk.length;
      if (readBeforeAuth > preAuthTotal) {
        const oversize = meter.feed(chunk);
        stop(
          oversize === undefined || oversize.length < 0
            ? { kind: 'pre-auth bytes', bytes: readBeforeAuth, limit: preAuthTotal }
            : { ...oversize, kind: 'oversize', limit: preAuthFrame, beforeAuth: true },
        );
        return;
      }
    }
    const oversize = meter.feed(chunk);
    if (oversize !== undefined) {
      stop(
        oversize.length < 0
          ? { kind: 'malformed', type: oversize.type }
          : {
              ...oversize,
              kind: 'oversize',
              limit: authed ? maxFrameBytes : preAuthFrame,
              beforeAuth: !authed,
            },
      );
      return;
    }
    // Most chunks end at a packet boundary: nothing to time. A timer that fires after its
    // packet completed finds nothing to do (cheaper than clearing it for every packet).
    if (!meter.midFrame || meter.started === timedPacket) return;
    timedPacket = meter.started;
    if (timer === undefined) {
      timer = setTimeout(onTimer, packetTimeoutMs);
      timer.unref();
    } else timer.refresh();
  };
  stream.on('data', onData);
  stream.once('close', () => {
    if (timer !== undefined) clearTimeout(timer);
  });

  return {
    authenticated() {
      if (authed) return;
      authed = true;
      meter.maxFrameBytes = maxFrameBytes;
    },
  };
}
