import { z } from 'zod';

/** Ids of UEs, workers, models and requests: 1-64 characters of `[A-Za-z0-9._-]`. */
export const ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export const idSchema = z
  .string({ error: 'must be a string id' })
  .max(64, { error: 'must be at most 64 characters' })
  .regex(ID_PATTERN, { error: 'must be 1-64 characters of [A-Za-z0-9._-]' });

/** A short human-readable name (cut or layer names). */
export const nameSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' });

const finite = () => z.number({ error: 'must be a finite number' });

export const nonNegativeMs = finite().min(0, { error: 'must be a finite number >= 0' });
export const positiveMbps = finite().gt(0, { error: 'must be a finite number > 0' });
export const byteCount = z
  .number({ error: 'must be an integer >= 0' })
  .int({ error: 'must be an integer >= 0' })
  .min(0, { error: 'must be an integer >= 0' });

/** Upper bound on partition points per model: a payload with more is rejected. */
export const MAX_CUTS = 10_000;
