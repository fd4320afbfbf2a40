/**
 * Checks a username and password against the credentials file, the environment's tokens and,
 * for UE ids, the key derived from the fleet key, and says who the client is.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { deriveUeKey, fleetKeyProblem, isValidId } from '../proto/index.js';
import type { Identity } from './acl.js';
import type { TokenRecord, UserRecord } from './credentials.js';
import { CredentialsError } from './errors.js';
import {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  parsePasswordHash,
  verifyPassword,
} from './password.js';

type Secret =
  | { readonly kind: 'scrypt'; readonly hash: ReturnType<typeof parsePasswordHash> }
  | { readonly kind: 'token'; readonly digest: Buffer };

interface Entry {
  readonly identity: Identity;
  readonly secret: Secret;
}

function identityOf(record: UserRecord | TokenRecord): Identity {
  if (record.role === 'ue') {
    if (record.ue === undefined) throw new CredentialsError(`user ${record.username}: no UE id`);
    return { role: 'ue', username: record.username, ue: record.ue };
  }
  return { role: record.role, username: record.username };
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();

/** Authenticates MQTT clients. Built once at startup; changing credentials means a restart. */
export class Authenticator {
  readonly #entries = new Map<string, Entry>();
  /**
   * HMACs (under a per-process key) of passwords that scrypt has already accepted, so that a
   * fleet reconnecting after a broker restart pays the scrypt cost once per user, not per
   * connect. Bounded by the number of users.
   */
  readonly #verified = new Map<string, Buffer>();
  readonly #cacheKey = randomBytes(32);
  #dummy: Promise<ReturnType<typeof parsePasswordHash>> | undefined;
  readonly #fleetKey: string | undefined;

  constructor(users: readonly UserRecord[], tokens: readonly TokenRecord[], fleetKey?: string) {
    if (fleetKey !== undefined) {
      const problem = fleetKeyProblem(fleetKey);
      if (problem !== undefined) throw new CredentialsError(`the UE fleet key ${problem}`);
    }
    this.#fleetKey = fleetKey;
    for (const user of users) {
      const hash = parsePasswordHash(user.passwordHash);
      this.#entries.set(user.username, {
        identity: identityOf(user),
        secret: { kind: 'scrypt', hash },
      });
    }
    for (const token of tokens) {
      if (this.#entries.has(token.username))
        throw new CredentialsError(
          `username "${token.username}" is both in the credentials file and in EDGESPLIT_TOKENS`,
        );
      const secret = { kind: 'token', digest: sha256(token.token) } as const;
      this.#entries.set(token.username, { identity: identityOf(token), secret });
    }
  }

  /** Number of known usernames. */
  get size(): number {
    return this.#entries.size;
  }

  /** The identity of a valid username and password, or undefined. */
  async authenticate(
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Identity | undefined> {
    if (username === undefined || password === undefined) return undefined;
    const entry = this.#entries.get(username);
    if (entry === undefined && this.#fleetKey !== undefined && isValidId(username)) {
      const derived = sha256(deriveUeKey(this.#fleetKey, username));
      return timingSafeEqual(sha256(password), derived)
        ? { role: 'ue', username, ue: username }
        : undefined;
    }
    if (entry === undefined) {
      // Spend the same time as for a known user, so response times don't reveal usernames.
      await verifyPassword(password, await this.#dummyHash());
      return undefined;
    }
    const { secret } = entry;
    if (secret.kind === 'token')
      return timingSafeEqual(sha256(password), secret.digest) ? entry.identity : undefined;
    const mac = createHmac('sha256', this.#cacheKey).update(password).digest();
    const known = this.#verified.get(username);
    if (known !== undefined && timingSafeEqual(mac, known)) return entry.identity;
    if (!(await verifyPassword(password, secret.hash))) return undefined;
    this.#verified.set(username, mac);
    return entry.identity;
  }

  #dummyHash(): Promise<ReturnType<typeof parsePasswordHash>> {
    this.#dummy ??= hashPassword(randomBytes(16), DEFAULT_SCRYPT_PARAMS).then(parsePasswordHash);
    return this.#dummy;
  }
}
