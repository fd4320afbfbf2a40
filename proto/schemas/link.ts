import { z } from 'zod';
import { nonNegativeInt, nonNegativeMs, positiveMbps, timestampMs } from './common.js';

/**
 * How a link estimate was obtained: `configured` (told: a link class, explicit rates or a trace)
 * or `measured` by the agent from its own traffic and probes (docs/links-and-lab.md).
 */
export const linkSourceSchema = z.enum(['configured', 'measured'], {
  error: 'must be "configured" or "measured"',
});

/** How many samples a measured estimate rests on, per quantity. */
export const linkSamplesSchema = z.object(
  { uplink: nonNegativeInt, rtt: nonNegativeInt, downlink: nonNegativeInt },
  { error: 'must be an object { uplink, rtt, downlink } of sample counts' },
);

/**
 * Payload of `ue/{ue}/link`: the UE's latest estimate of its link to the edge. `source` and
 * `samples` are optional, so peers that predate them still send and read valid links.
 */
export const linkEstimateSchema = z.object(
  {
    uplinkMbps: positiveMbps,
    rttMs: nonNegativeMs,
    /** Absent means an unlimited downlink (the result download takes no time). */
    downlinkMbps: positiveMbps.optional(),
    measuredAt: timestampMs,
    /** Absent: not said (an older agent); treat as configured. */
    source: linkSourceSchema.optional(),
    /** With `source: measured`: samples in the estimator's windows when it was published. */
    samples: linkSamplesSchema.optional(),
  },
  {
    error: 'must be an object { uplinkMbps, rttMs, downlinkMbps?, measuredAt, source?, samples? }',
  },
);

export type LinkEstimate = z.output<typeof linkEstimateSchema>;
export type LinkSource = z.output<typeof linkSourceSchema>;
