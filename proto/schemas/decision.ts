import { z } from 'zod';
import {
  idSchema,
  nameSchema,
  nonNegativeInt,
  nonNegativeMs,
  protocolVersionSchema,
  solverNameSchema,
  unitsSchema,
} from './common.js';

/** Payload of `ue/{ue}/decision` (retained): where the UE cuts and how many edge units it has. */
export const decisionSchema = z.object(
  {
    epoch: nonNegativeInt,
    /** Index into the UE's profile cuts; the last index means "run everything locally". */
    cut: nonNegativeInt,
    cutName: nameSchema,
    units: unitsSchema,
    predictedMs: nonNegativeMs,
    solver: solverNameSchema,
    /**
     * The UE's model, from its profile: edge workers open the tail's session when the decision
     * arrives rather than at its first job. Absent from decisions of older schedulers.
     */
    model: idSchema.optional(),
    /** The protocol version of the scheduler; absent from older schedulers (version 1). */
    protocol: protocolVersionSchema.optional(),
  },
  {
    error:
      'must be an object { epoch, cut, cutName, units, predictedMs, solver, model?, protocol? }',
  },
);

export type Decision = z.output<typeof decisionSchema>;
