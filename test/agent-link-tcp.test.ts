import { describe, expect, it } from 'vitest';
import { mbpsOf, uploadSampleOf } from '../agents/index.js';
import { DeliveryLog, sendQueueOf } from '../agents/tcp-delivery.js';

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0753 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0200D50A:A1B2 0100D50A:075B 01 0001F400:00000000 01:00000014 00000000     0        0 2 1 0 20 4 30 10 -1
`;

describe('the send queue of the agent’s TCP connection', () => {
  it('reads tx_queue of the established socket with the given ports, and nothing else', () => {
    expect(sendQueueOf([TABLE], 0xa1b2, 1883)).toBe(0x1f400);
    expect(sendQueueOf([TABLE], 1883, 0)).toBeUndefined(); // listening, not established
    expect(sendQueueOf([TABLE], 0xa1b3, 1883)).toBeUndefined();
    expect(sendQueueOf(['garbage\n\n:::'], 1, 2)).toBeUndefined();
  });
});

/**
 * Readings every 5 ms of an upload of `bytes` delivered at `mbps` from t = 0: Node's buffer
 * holds what the kernel has not taken (`sndbuf` at most), the kernel acknowledges in steps of
 * two segments, and the last `tail` bytes are acknowledged only at `lastAckAt` (a delayed ACK
 * waiting on the broker's answer).
 */
function readings(bytes: number, mbps: number, sndbuf: number, tail: number, lastAckAt: number) {
  const perMs = (mbps * 1000) / 8;
  const out: [number, number, number][] = [];
  for (let at = 0.2; ; at += 5) {
    let acked = Math.min(bytes - tail, Math.floor((perMs * at) / 2896) * 2896);
    if (at >= lastAckAt) acked = bytes;
    const buffered = Math.max(0, bytes - acked - sndbuf);
    out.push([at, bytes - acked - buffered, buffered]);
    if (acked === bytes) return out;
  }
}

function logOf(bytes: number, rows: readonly (readonly [number, number, number])[]) {
  const log = new DeliveryLog();
  log.written(bytes);
  for (const [at, tx, buffered] of rows) log.reading(at, tx, buffered);
  return log.delivery;
}

const rateOf = (sample: { bytes: number; startedAt: number; ackedAt: number }) =>
  mbpsOf(sample.bytes, sample.ackedAt - sample.startedAt);

describe('timing an upload by the broker’s TCP acknowledgements', () => {
  it('times an upload to the reading that reads the link fastest, not to a delayed last ACK', () => {
    // 300,000 bytes at 10 Mbps: 240 ms on the link; the last 1000 bytes acknowledged 40 ms late.
    const seen = logOf(300_000, readings(300_000, 10, 64_000, 1000, 280));
    expect(seen.drainedAt).toBeGreaterThanOrEqual(280);
    const rate = rateOf(uploadSampleOf(300_000, 0, 290, seen));
    expect(rate).toBeLessThanOrEqual(10);
    expect(rate).toBeGreaterThan(9.8);
    // Timed to the moment the queue emptied, it would have read 14% low.
    expect(mbpsOf(300_000, seen.drainedAt ?? 0)).toBeLessThan(8.7);
  });

  it('counts no reading while Node still holds bytes of the write: the kernel may have taken some of them', () => {
    const seen = logOf(100_000, [
      [1, 60_000, 40_000], // the kernel took 60,000 bytes of the write, sent none yet
      [6, 50_000, 40_000],
      [11, 50_000, 0],
    ]);
    expect(seen.acknowledged).toEqual([{ at: 11, bytes: 50_000 }]);
  });

  it('reads a probe recorded in the lab on a busy host (2 Mbps, load 5.3) by its PUBACK: the readings of its acknowledgements lagged', () => {
    // `edgesplit lab`, uplink shaped at 2 Mbps: a 65,536-byte probe, the send queue read at
    // these times (ms after the probe was written; the agent's timers ran late), PUBACK at
    // 281.6 ms. Its acknowledgements were processed late and then in a burst: the last reading
    // still found 9100 bytes unacknowledged 13 ms before the PUBACK. tx counts the MQTT header.
    const seen = logOf(65_536, [
      [5.6, 0, 65_572],
      [19.8, 65_572, 0],
      [25.3, 62_676, 0],
      [45.8, 59_780, 0],
      [54.4, 56_884, 0],
      [81.3, 48_196, 0],
      [95.8, 48_196, 0],
      [111.0, 42_404, 0],
      [123.2, 39_508, 0],
      [125.4, 36_612, 0],
      [241.6, 33_716, 0],
      [268.4, 9100, 0],
    ]);
    expect(seen.notStartedAt).toBe(5.6); // the bytes were still in Node's buffer then
    const sample = uploadSampleOf(65_536, 0, 281.6, seen);
    expect(sample).toEqual({ bytes: 65_536, startedAt: 5.6, ackedAt: 281.6 });
    expect(rateOf(sample)).toBeCloseTo(1.9, 1); // 1448 of every 1514 bytes through tbf: 1.91
  });

  it('reads a stall of the host low, never high: the window rejects it', () => {
    // Recorded in the same run, uplink at 50 Mbps: a 602,238-byte tensor that the host (not
    // the link: it carries 600 KB in 100 ms) held for a quarter of a second.
    const seen = logOf(602_238, [
      [2.3, 0, 602_274],
      [57.6, 574_762, 0],
      [70.9, 431_410, 0],
      [78.3, 374_938, 0],
      [86.0, 332_946, 0],
      [343.7, 289_506, 0],
      [363.3, 0, 0],
    ]);
    const rate = rateOf(uploadSampleOf(602_238, 0, 390.8, seen));
    expect(rate).toBeLessThan(15);
    // Between two readings the acknowledgements caught up at 61 Mbps: no use for a rate.
    expect(mbpsOf(431_410 - 374_938, 78.3 - 70.9)).toBeGreaterThan(60);
  });

  it('times an upload too short to be seen on the wire, or with no readings, to the queue emptying or the PUBACK', () => {
    const seen = logOf(20_000, [
      [0.1, 20_000, 0],
      [5.1, 0, 0],
    ]);
    expect(uploadSampleOf(20_000, 0, 9, seen)).toEqual({
      bytes: 20_000,
      startedAt: 0,
      ackedAt: 5.1,
    });
    expect(uploadSampleOf(20_000, 0, 9)).toEqual({ bytes: 20_000, startedAt: 0, ackedAt: 9 });
  });
});

describe('what is left of an upload on the wire', () => {
  it('reads the time its unacknowledged bytes take at the rate of the last half second, Infinity when nothing got through, nothing before readings span it', () => {
    const log = new DeliveryLog();
    log.written(600_000);
    // 20 Mbps (2,500 bytes per ms) for 100 ms, then 2 Mbps (250 per ms).
    for (let at = 0; at <= 100; at += 10) log.reading(at, 600_000 - 2_500 * at, 0);
    expect(log.remainingMs(500)).toBeUndefined();
    for (let at = 110; at <= 700; at += 10)
      log.reading(at, 600_000 - 250_000 - 250 * (at - 100), 0);
    // 400,000 bytes acknowledged by 700 ms; 200,000 left at 250 per ms.
    expect(log.remainingMs(500)).toBeCloseTo(800, 0);
    // The link stops carrying anything.
    for (let at = 710; at <= 1_300; at += 10) log.reading(at, 200_000, 0);
    expect(log.remainingMs(500)).toBe(Number.POSITIVE_INFINITY);
  });
});
