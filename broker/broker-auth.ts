/**
 * Where the embedded broker's identities come from, and the login guard made of them: the
 * credentials file, tokens and the fleet key behind one authenticator, paced by the login limits.
 */
import type { UeKeyRevocations } from '../runtime/ue-key.js';
import { Authenticator } from './authenticator.js';
import { readCredentialsFile, type TokenRecord, type UserRecord } from './credentials.js';
import { CredentialsError } from './errors.js';
import { HashGate } from './hash-gate.js';
import { LoginGuard } from './login-guard.js';
import { type LoginLimits, resolveLoginLimits } from './login-limits.js';
import { LoginThrottle } from './login-throttle.js';

/** Where identities come from; at least one source is required. */
export interface BrokerAuthOptions {
  /**
   * Path of a credentials file: `{ "users": [{ username, role, ue?, passwordHash }] }`, hashes
   * made by `hashPassword` (`edgesplit broker hash-password`). Read once at start.
   * @defaultValue none
   */
  credentialsFile?: string;
  /**
   * Token credentials, usually `parseTokens(process.env.EDGESPLIT_TOKENS)`.
   * @defaultValue none
   */
  tokens?: readonly TokenRecord[];
  /**
   * Fleet key (`EDGESPLIT_UE_FLEET_KEY`): a UE id logs in as that UE with the key derived from
   * it (`deriveUeKey`). Usernames in the file or tokens keep their own secret, and a UE id that
   * a credential of the file or tokens speaks for never logs in with a derived key.
   * @defaultValue none
   */
  ueFleetKey?: string;
  /**
   * Revoked derived keys (`EDGESPLIT_UE_KEY_REVOKED`, see `parseUeKeyRevocations`): every key
   * of a UE, or its generations up to N.
   * @defaultValue none
   */
  ueKeyRevocations?: UeKeyRevocations;
}

/**
 * The login guard of `auth`, undefined when auth is off. Reads the credentials file; throws
 * CredentialsError when auth is on without any credential, a RangeError for a bad login limit.
 */
export async function loadLogins(
  auth: 'off' | BrokerAuthOptions,
  loginLimits: Partial<LoginLimits> | undefined,
): Promise<LoginGuard | undefined> {
  if (auth === 'off') return undefined;
  const limits = resolveLoginLimits(loginLimits);
  const users: UserRecord[] =
    auth.credentialsFile === undefined ? [] : await readCredentialsFile(auth.credentialsFile);
  const hashGate = new HashGate({
    concurrency: limits.maxHashing,
    maxQueued: limits.maxQueuedHashes,
  });
  const authenticator = new Authenticator({
    users,
    tokens: auth.tokens ?? [],
    hashGate,
    ...(auth.ueFleetKey === undefined ? {} : { fleetKey: auth.ueFleetKey }),
    ...(auth.ueKeyRevocations === undefined ? {} : { ueKeyRevocations: auth.ueKeyRevocations }),
  });
  if (authenticator.size === 0 && auth.ueFleetKey === undefined)
    throw new CredentialsError(
      'authentication is on but no credentials were given: pass a credentials file, tokens or a fleet key, or auth "off"',
    );
  return new LoginGuard(authenticator, new LoginThrottle(limits), hashGate);
}
