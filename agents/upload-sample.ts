/** What one upload tells of the uplink: its bytes over its time on the wire. */
import type { UploadSample } from './link-estimator.js';
import type { Delivery } from './tcp-delivery.js';

/**
 * The sample an upload of `bytes` from `startedAt` gives, its last PUBACK having come at `now`:
 * its bytes over its time on the wire, timed to the moment that reads the link fastest among
 * those that bound it from below. Each of them is a time by which the broker had at least so
 * many of the upload's bytes: the PUBACK (all of them), the moment the agent saw its send
 * queue empty (all of them, acknowledged by the broker's TCP) and every reading of that queue
 * on the way (as many as were acknowledged then; only those with half the upload or more). All
 * come late, by different amounts: the broker's kernel may hold the acknowledgement of the last
 * segment (a delayed ACK, up to 40 ms on Linux) until the broker answers, the PUBACK waits on
 * the broker, and on a busy host acknowledgements are processed late and then in a burst. So
 * the fastest reading is the least delayed one. The clock starts at the last reading that saw
 * none of the upload in the kernel yet (its bytes leave Node's buffer on the next tick), else
 * when it was written (docs/links-and-lab.md, "How a link is measured").
 */
export function uploadSampleOf(
  bytes: number,
  startedAt: number,
  now: number,
  delivery?: Delivery,
): UploadSample {
  const start = Math.max(startedAt, delivery?.notStartedAt ?? startedAt);
  let best = { bytes, ackedAt: Math.min(now, delivery?.drainedAt ?? now) };
  for (const point of delivery?.acknowledged ?? []) {
    if (point.bytes < bytes / 2 || point.at <= start) continue;
    if (point.bytes * (best.ackedAt - start) > best.bytes * (point.at - start))
      best = { bytes: Math.min(bytes, point.bytes), ackedAt: point.at };
  }
  return { bytes: best.bytes, startedAt: start, ackedAt: best.ackedAt };
}
