import { describe, expect, it } from 'vitest';
import { FrameMeter } from '../broker/index.js';

describe('FrameMeter', () => {
  /** A packet of `type` with a body of `length` bytes, its remaining length as a varint. */
  function frame(type: number, length: number): Buffer {
    const varint: number[] = [];
    let rest = length;
    do {
      const digit = rest % 128;
      rest = Math.floor(rest / 128);
      varint.push(rest > 0 ? digit | 0x80 : digit);
    } while (rest > 0);
    return Buffer.concat([Buffer.from([type << 4, ...varint]), Buffer.alloc(length, 7)]);
  }

  it('follows packets split at every byte boundary and flags only the oversize one', () => {
    const stream = Buffer.concat([
      frame(3, 0),
      frame(3, 127),
      frame(3, 128),
      frame(12, 0),
      frame(3, 300),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const meter = new FrameMeter(300);
      expect(meter.feed(stream.subarray(0, cut))).toBeUndefined();
      expect(meter.feed(stream.subarray(cut))).toBeUndefined();
    }
    const meter = new FrameMeter(300);
    expect(meter.feed(frame(3, 10))).toBeUndefined();
    expect(meter.feed(frame(3, 301).subarray(0, 3))).toEqual({ type: 3, length: 301 });
    expect(new FrameMeter(300).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff]))).toEqual({
      type: 1,
      length: -1,
    });
  });
});
