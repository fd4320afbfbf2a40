/**
 * Per-UE keys derived from one fleet key (as IoT provisioning services derive device keys from
 * a group key). A UE's MQTT password is `HMAC-SHA256(fleet key, "edgesplit/ue-key/v1:" + id)`
 * in base64url without padding (43 characters); a later generation G (2, 3, …) of the same UE's
 * key uses the message `"edgesplit/ue-key/v1:" + id + ":" + G` (ids hold no `:`, so no two
 * messages are alike). The broker, holding the fleet key, accepts a UE id with its current
 * derived key, and only as that UE, unless the id is assigned in the credentials file or tokens
 * or its keys are revoked; a device is given its derived key alone (`edgesplit broker ue-key`),
 * never the fleet key; the fleet simulator, standing for many devices, derives each one's.
 */
import { createHmac } from 'node:crypto';
import { isValidId } from '../proto/index.js';

/** Shortest fleet key accepted, in characters (e.g. `openssl rand -hex 32` gives 64). */
export const MIN_FLEET_KEY_LENGTH = 32;

/** Highest key generation a revocation list may name. */
export const MAX_UE_KEY_GENERATION = 1_000_000;

/** Why `key` cannot be a fleet key, or undefined when it can. */
export function fleetKeyProblem(key: string): string | undefined {
  if (key.length < MIN_FLEET_KEY_LENGTH)
    return `must be at least ${MIN_FLEET_KEY_LENGTH} characters, not ${key.length}`;
  return undefined;
}

/**
 * The MQTT password of UE `ue` under `fleetKey` (base64url, 43 characters), of key generation
 * `generation` (1, the default, is the key a UE has until one is revoked).
 */
export function deriveUeKey(fleetKey: string, ue: string, generation = 1): string {
  if (!Number.isSafeInteger(generation) || generation < 1)
    throw new RangeError(`a UE key generation must be a positive integer, not ${generation}`);
  const message =
    generation === 1 ? `edgesplit/ue-key/v1:${ue}` : `edgesplit/ue-key/v1:${ue}:${generation}`;
  return createHmac('sha256', fleetKey).update(message).digest('base64url');
}

/**
 * Revoked derived keys by UE id: `'all'` (no derived key of that UE is accepted) or the highest
 * revoked generation N (generation N + 1 is the UE's key).
 */
export type UeKeyRevocations = ReadonlyMap<string, number | 'all'>;

/**
 * Parses a revocation list (`EDGESPLIT_UE_KEY_REVOKED`): comma-separated `UE` (every derived key
 * of that UE is revoked) or `UE:N` (generations 1 to N are revoked; its key is generation N + 1).
 * Throws a RangeError naming the entry by position.
 */
export function parseUeKeyRevocations(text: string): Map<string, number | 'all'> {
  const revocations = new Map<string, number | 'all'>();
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    const [ue = '', generation, ...rest] = entry.split(':');
    if (!isValidId(ue) || rest.length > 0)
      throw new RangeError(
        `${where}: must be UE or UE:N, UE being 1-64 characters of [A-Za-z0-9._-]`,
      );
    if (revocations.has(ue)) throw new RangeError(`${where}: UE ${ue} is listed twice`);
    if (generation === undefined) {
      revocations.set(ue, 'all');
      return;
    }
    const n = /^\d{1,7}$/.test(generation) ? Number(generation) : Number.NaN;
    if (!(n >= 1 && n < MAX_UE_KEY_GENERATION))
      throw new RangeError(
        `${where}: N (the highest revoked generation) must be an integer from 1 to ${MAX_UE_KEY_GENERATION - 1}`,
      );
    revocations.set(ue, n);
  });
  return revocations;
}

/** The generation of UE `ue`'s derived key under `revocations`, or undefined if all are revoked. */
export function currentUeKeyGeneration(
  revocations: UeKeyRevocations,
  ue: string,
): number | undefined {
  const revoked = revocations.get(ue);
  if (revoked === 'all') return undefined;
  return revoked === undefined ? 1 : revoked + 1;
}
