import { z } from 'zod';
import { presenceSchema, protocolVersionSchema, timestampMs } from './common.js';

/** Payload of `ue/{ue}/status` (retained; the MQTT last will publishes `offline`). */
export const ueStatusSchema = z.object(
  {
    state: presenceSchema,
    agentVersion: z
      .string({ error: 'must be a string' })
      .max(64, { error: 'must be at most 64 characters' }),
    at: timestampMs,
    /** The protocol version the UE speaks; absent from older agents (version 1). */
    protocol: protocolVersionSchema.optional(),
  },
  { error: 'must be an object { state, agentVersion, at, protocol? }' },
);

export type UeStatus = z.output<typeof ueStatusSchema>;
