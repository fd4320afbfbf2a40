/** The limits that pace logins (see docs/security.md), their defaults and their checks. */
import { OptionError } from '../proto/index.js';

/** Limits of login throttling and password hashing. */
export interface LoginLimits {
  /**
   * Failed logins an address (or a username, or a username from one of its known addresses)
   * may have before it must wait.
   * @defaultValue 5
   */
  readonly freeFailures: number;
  /**
   * Wait after the first failure beyond `freeFailures`; it doubles with each further failure.
   * @defaultValue 1000
   */
  readonly backoffMs: number;
  /**
   * Longest wait.
   * @defaultValue 300000 (5 minutes)
   */
  readonly maxBackoffMs: number;
  /**
   * A failure record is forgotten this long after its last failure (at least `maxBackoffMs`).
   * @defaultValue 900000 (15 minutes)
   */
  readonly forgetMs: number;
  /**
   * Most addresses, usernames and (username, address) pairs with failures tracked, each; beyond
   * it the record least recently failed is dropped.
   * @defaultValue 10000
   */
  readonly maxTracked: number;
  /**
   * How long an address where a username logged in stays known for it: from there that username
   * is not held back by failures from elsewhere.
   * @defaultValue 86400000 (1 day)
   */
  readonly trustMs: number;
  /**
   * Most known (username, address) pairs; beyond it the one whose last login is oldest is
   * dropped.
   * @defaultValue 50000
   */
  readonly maxTrusted: number;
  /**
   * Logins of one address being checked at once; one more is refused at once (server
   * unavailable), not counted as a failure.
   * @defaultValue 8
   */
  readonly maxPerAddress: number;
  /**
   * scrypt hashes running at once.
   * @defaultValue 2
   */
  readonly maxHashing: number;
  /**
   * Logins waiting for a hash; one more is refused at once (server unavailable).
   * @defaultValue 16
   */
  readonly maxQueuedHashes: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  freeFailures: 5,
  backoffMs: 1000,
  maxBackoffMs: 300_000,
  forgetMs: 900_000,
  maxTracked: 10_000,
  trustMs: 86_400_000,
  maxTrusted: 50_000,
  maxPerAddress: 8,
  maxHashing: 2,
  maxQueuedHashes: 16,
};

/** `DEFAULT_LOGIN_LIMITS` with `limits` over it; throws an `OptionError` naming a bad limit. */
export function resolveLoginLimits(limits: Partial<LoginLimits> = {}): LoginLimits {
  const resolved = { ...DEFAULT_LOGIN_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    const least = name === 'freeFailures' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least)
      throw new OptionError(
        `login limit ${name} must be an integer of at least ${least}, not ${value}`,
        { option: name },
      );
  }
  if (resolved.maxBackoffMs < resolved.backoffMs)
    throw new OptionError('login limit maxBackoffMs must be at least backoffMs', {
      option: 'maxBackoffMs',
    });
  if (resolved.forgetMs < resolved.maxBackoffMs)
    throw new OptionError('login limit forgetMs must be at least maxBackoffMs', {
      option: 'forgetMs',
    });
  return resolved;
}
