/** The `ue/{ue}/link` message an estimate gives, and whether it moved enough to be published. */
import type { LinkEstimate } from '../proto/index.js';
import type { LinkRates } from './emulated-link.js';
import type { LinkEstimateView } from './link-estimator.js';

/** An RTT change smaller than this never counts as a move (sub-ms jitter of a LAN). */
const RTT_FLOOR_MS = 2;

function moved(before: number | undefined, after: number | undefined, threshold: number) {
  if (before === after) return false;
  if (before === undefined || after === undefined || before === 0) return true;
  return Math.abs(after - before) / before >= threshold;
}

/** Whether `after` should be published over `before` (the last one published). */
export function estimateMoved(before: LinkEstimate, after: LinkEstimate, hysteresis: number) {
  if (moved(before.uplinkMbps, after.uplinkMbps, hysteresis)) return true;
  if (moved(before.downlinkMbps, after.downlinkMbps, hysteresis)) return true;
  return (
    Math.abs(after.rttMs - before.rttMs) >= RTT_FLOOR_MS &&
    moved(before.rttMs, after.rttMs, hysteresis)
  );
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** The link message for an estimate; undefined until the uplink has been measured. */
export function linkMessageOf(
  view: LinkEstimateView,
  measuredAt: number,
  fallback?: LinkRates,
): LinkEstimate | undefined {
  const uplink = view.uplinkMbps?.value ?? fallback?.uplinkMbps;
  if (uplink === undefined) return undefined;
  const link: LinkEstimate = {
    uplinkMbps: round(uplink, 3),
    rttMs: round(view.rttMs?.value ?? fallback?.rttMs ?? 0, 2),
    measuredAt,
    source: view.uplinkMbps === undefined ? 'configured' : 'measured',
    samples: {
      uplink: view.uplinkMbps?.samples ?? 0,
      rtt: view.rttMs?.samples ?? 0,
      downlink: view.downlinkMbps?.samples ?? 0,
    },
  };
  const downlink = view.downlinkMbps?.value ?? fallback?.downlinkMbps;
  if (downlink !== undefined) link.downlinkMbps = round(downlink, 3);
  return link;
}
