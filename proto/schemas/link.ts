import { z } from 'zod';
import { nonNegativeMs, positiveMbps, timestampMs } from './common.js';

/** Payload of `ue/{ue}/link`: the UE's latest estimate of its link to the edge. */
export const linkEstimateSchema = z.object(
  {
    uplinkMbps: positiveMbps,
    rttMs: nonNegativeMs,
    /** Absent means an unlimited downlink (the result download takes no time). */
    downlinkMbps: positiveMbps.optional(),
    measuredAt: timestampMs,
  },
  { error: 'must be an object { uplinkMbps, rttMs, downlinkMbps?, measuredAt }' },
);

export type LinkEstimate = z.output<typeof linkEstimateSchema>;
