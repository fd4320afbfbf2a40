/**
 * Per-UE keys derived from one fleet key (as IoT provisioning services derive device keys from
 * a group key): a UE's MQTT password is HMAC-SHA256(fleet key, its id). The broker, holding the
 * fleet key, accepts any UE id with its own derived key, and only as that UE; a device is given
 * its derived key alone (`edgesplit broker ue-key`), never the fleet key; the fleet simulator,
 * standing for many devices, derives each one's.
 */
import { createHmac } from 'node:crypto';

/** Shortest fleet key accepted, in characters (e.g. `openssl rand -hex 32` gives 64). */
export const MIN_FLEET_KEY_LENGTH = 32;

/** Why `key` cannot be a fleet key, or undefined when it can. */
export function fleetKeyProblem(key: string): string | undefined {
  if (key.length < MIN_FLEET_KEY_LENGTH)
    return `must be at least ${MIN_FLEET_KEY_LENGTH} characters, not ${key.length}`;
  return undefined;
}

/** The MQTT password of UE `ue` under `fleetKey` (base64url, 43 characters). */
export function deriveUeKey(fleetKey: string, ue: string): string {
  return createHmac('sha256', fleetKey).update(`edgesplit/ue-key/v1:${ue}`).digest('base64url');
}
