/**
 * Cuts a connection as soon as a packet header announces more bytes than allowed, before the
 * broker buffers them: aedes's parser otherwise holds a whole packet (up to 256 MiB
 * [MQTT-2.2.3]) in memory, even from a client that has not authenticated yet.
 */
import type { Duplex } from 'node:stream';

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
  readonly #maxFrameBytes: number;
  #state: 'header' | 'length' | 'body' = 'header';
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
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
      const byte = chunk[i++]!;
      if (this.#state === 'header') {
        this.#type = byte >> 4;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
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

/**
 * Watches what aedes reads from `stream` and destroys the stream at the first oversize frame.
 * A 'data' listener only observes here: aedes reads with a 'readable' listener, which takes
 * precedence, so 'data' fires for each chunk `read()` hands out and the flow is unchanged.
 * Call after `aedes.handle(stream)`.
 */
export function guardFrames(
  stream: Duplex,
  maxFrameBytes: number,
  onOversize: (frame: OversizeFrame) => void,
): void {
  const meter = new FrameMeter(maxFrameBytes);
  const onData = (chunk: Buffer) => {
    const oversize = meter.feed(chunk);
    if (oversize === undefined) return;
    stream.off('data', onData);
    onOversize(oversize);
    stream.destroy(new Error(`packet of ${oversize.length} bytes exceeds ${maxFrameBytes}`));
  };
  stream.on('data', onData);
}
