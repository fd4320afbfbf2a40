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

// The type error repeats the bound, so NaN, Infinity and -1 all read the same way.
export const nonNegativeMs = z
  .number({ error: 'must be a finite number >= 0' })
  .min(0, { error: 'must be a finite number >= 0' });
export const positiveMbps = z
  .number({ error: 'must be a finite number > 0' })
  .gt(0, { error: 'must be a finite number > 0' });
export const byteCount = z
  .number({ error: 'must be an integer >= 0' })
  .int({ error: 'must be an integer >= 0' })
  .min(0, { error: 'must be an integer >= 0' });

/** Upper bound on partition points per model: a payload with more is rejected. */
export const MAX_CUTS = 10_000;

/** A count, index or epoch: a safe integer >= 0. */
export const nonNegativeInt = z
  .number({ error: 'must be an integer >= 0' })
  .int({ error: 'must be an integer >= 0' })
  .min(0, { error: 'must be an integer >= 0' });

/** Latest instant a JS `Date` can hold, in ms since the epoch. */
const MAX_TIME_MS = 8.64e15;

/** An instant in ms since the Unix epoch (`Date.now()`); fractions are allowed. */
export const timestampMs = z
  .number({ error: 'must be a time in ms since the epoch (a finite number >= 0)' })
  .min(0, { error: 'must be a time in ms since the epoch (a finite number >= 0)' })
  .max(MAX_TIME_MS, { error: `must be a time in ms since the epoch (at most ${MAX_TIME_MS})` });

/** Name of the solver that produced a decision (`iao`, `optimal`, ...). */
export const solverNameSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(32, { error: 'must be at most 32 characters' });

/** Online/offline state of a UE or an edge worker; offline is also the MQTT last will. */
export const presenceSchema = z.enum(['online', 'offline'], {
  error: 'must be "online" or "offline"',
});

/** The protocol version this code speaks; the major version is also the topic prefix's `v1`. */
export const PROTOCOL_VERSION = 1;

/**
 * The protocol version a peer speaks (status and decision). Absent: version 1, from a peer
 * older than the field. A receiver ignores fields it does not know, so a newer minor version
 * is read by an older peer.
 */
export const protocolVersionSchema = z
  .number({ error: 'must be an integer >= 1' })
  .int({ error: 'must be an integer >= 1' })
  .min(1, { error: 'must be an integer >= 1' })
  .max(1_000_000, { error: 'must be an integer from 1 to 1000000' });

/**
 * A UE that states a `protocol` version in its status republishes that status (retained) at
 * least this often, so that a scheduler behind any broker can tell it is still there.
 */
export const STATUS_REFRESH_MS = 30_000;
/** A scheduler takes such a UE offline when it has heard no status of it for this long. */
export const STATUS_EXPIRY_MS = 3 * STATUS_REFRESH_MS;

/** Largest batch (samples per task) and edge size accepted from files and the network. */
export const MAX_BATCH = 1_000_000;
export const MAX_UNITS = 1_000_000;

export const batchSchema = z
  .number({ error: `must be an integer from 1 to ${MAX_BATCH}` })
  .int({ error: `must be an integer from 1 to ${MAX_BATCH}` })
  .min(1, { error: `must be an integer from 1 to ${MAX_BATCH}` })
  .max(MAX_BATCH, { error: `must be an integer from 1 to ${MAX_BATCH}` });

export const unitsSchema = z
  .number({ error: `must be an integer from 0 to ${MAX_UNITS}` })
  .int({ error: `must be an integer from 0 to ${MAX_UNITS}` })
  .min(0, { error: `must be an integer from 0 to ${MAX_UNITS}` })
  .max(MAX_UNITS, { error: `must be an integer from 0 to ${MAX_UNITS}` });
