/**
 * Checks a username and password against the credentials file, the environment's tokens and,
 * for UE ids no credential claims, the key derived from the fleet key, and says who the client
 * is or why not.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isValidId } from '../proto/index.js';
import {
  currentUeKeyGeneration,
  deriveUeKey,
  fleetKeyProblem,
  type UeKeyRevocations,
} from '../runtime/ue-key.js';
import type { Identity } from './acl.js';
import type { TokenRecord, UserRecord } from './credentials.js';
import { CredentialsError } from './errors.js';
import type { HashGate } from './hash-gate.js';
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

/** What `Authenticator.authenticate` decided. */
export type AuthOutcome =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly reason: string };

/** Where identities come from, and how password hashing is paced. */
export interface AuthenticatorOptions {
  readonly users?: readonly UserRecord[];
  readonly tokens?: readonly TokenRecord[];
  /** Fleet key: a UE id no credential assigns logs in with its derived key (`deriveUeKey`). */
  readonly fleetKey?: string;
  /** Revoked derived keys (`parseUeKeyRevocations`). */
  readonly ueKeyRevocations?: UeKeyRevocations;
  /** Runs every scrypt hash; without one, hashes run as they come. */
  readonly hashGate?: HashGate;
}

function identityOf(record: UserRecord | TokenRecord): Identity {
  if (record.role === 'ue') {
    if (record.ue === undefined) throw new CredentialsError(`user ${record.username}: no UE id`);
    return { role: 'ue', username: record.username, ue: record.ue };
  }
  return { role: record.role, username: record.username };
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const BAD_PASSWORD: AuthOutcome = { ok: false, reason: 'bad username or password' };

/** Authenticates MQTT clients. Built once at startup; changing credentials means a restart. */
export class Authenticator {
  readonly #entries = new Map<string, Entry>();
  /**
   * UE ids a credential of the file or tokens speaks for: their fleet-derived keys are never
   * accepted, so that giving a UE its own secret also revokes its derived key.
   */
  readonly #assignedUes = new Set<string>();
  /**
   * HMACs (under a per-process key) of passwords that scrypt has already accepted, so that a
   * fleet reconnecting after a broker restart pays the scrypt cost once per user, not per
   * connect. Bounded by the number of users.
   */
  readonly #verified = new Map<string, Buffer>();
  readonly #cacheKey = randomBytes(32);
  #dummy: Promise<ReturnType<typeof parsePasswordHash>> | undefined;
  readonly #fleetKey: string | undefined;
  readonly #revocations: UeKeyRevocations;
  readonly #hashGate: HashGate | undefined;

  constructor(options: AuthenticatorOptions) {
    const { fleetKey, users = [], tokens = [] } = options;
    if (fleetKey !== undefined) {
      const problem = fleetKeyProblem(fleetKey);
      if (problem !== undefined) throw new CredentialsError(`the UE fleet key ${problem}`);
    }
    this.#fleetKey = fleetKey;
    this.#revocations = options.ueKeyRevocations ?? new Map();
    this.#hashGate = options.hashGate;
    for (const user of users) {
      const hash = parsePasswordHash(user.passwordHash);
      this.#add(user, { kind: 'scrypt', hash });
    }
    for (const token of tokens) {
      if (this.#entries.has(token.username))
        throw new CredentialsError(
          `username "${token.username}" is both in the credentials file and in EDGESPLIT_TOKENS`,
        );
      this.#add(token, { kind: 'token', digest: sha256(token.token) });
    }
  }

  #add(record: UserRecord | TokenRecord, secret: Secret): void {
    const identity = identityOf(record);
    this.#entries.set(record.username, { identity, secret });
    if (identity.role === 'ue') this.#assignedUes.add(identity.ue);
  }

  /** Number of known usernames. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Who `username` with `password` is, or why not. A scrypt hash, if one is needed, runs in the
   * hash gate; a full gate rejects with `HashGateFullError`.
   */
  async authenticate(
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<AuthOutcome> {
    if (username === undefined || password === undefined)
      return { ok: false, reason: 'no username or password' };
    // Not an id: no credential can have this name, so refusing at once reveals nothing.
    if (!isValidId(username)) return BAD_PASSWORD;
    const entry = this.#entries.get(username);
    if (entry === undefined && this.#fleetKey !== undefined)
      return this.#derived(this.#fleetKey, username, password);
    if (entry === undefined) {
      // Spend the same time as for a known user, so response times don't reveal usernames.
      await this.#hash(async () => verifyPassword(password, await this.#dummyHash()));
      return BAD_PASSWORD;
    }
    const { secret } = entry;
    if (secret.kind === 'token')
      return timingSafeEqual(sha256(password), secret.digest)
        ? { ok: true, identity: entry.identity }
        : BAD_PASSWORD;
    const mac = createHmac('sha256', this.#cacheKey).update(password).digest();
    const known = this.#verified.get(username);
    if (known !== undefined && timingSafeEqual(mac, known))
      return { ok: true, identity: entry.identity };
    if (!(await this.#hash(() => verifyPassword(password, secret.hash)))) return BAD_PASSWORD;
    this.#verified.set(username, mac);
    return { ok: true, identity: entry.identity };
  }

  #derived(fleetKey: string, ue: string, password: Buffer): AuthOutcome {
    // Which of these applies is no secret worth keeping from a client: the UE ids and the
    // revocations are not credentials, and each answer is as fast as the others.
    if (this.#assignedUes.has(ue))
      return {
        ok: false,
        reason: `UE ${ue} is assigned in the credentials; its fleet-derived key is not accepted`,
      };
    const generation = currentUeKeyGeneration(this.#revocations, ue);
    if (generation === undefined)
      return { ok: false, reason: `every fleet-derived key of UE ${ue} is revoked` };
    const derived = sha256(deriveUeKey(fleetKey, ue, generation));
    if (timingSafeEqual(sha256(password), derived))
      return { ok: true, identity: { role: 'ue', username: ue, ue } };
    const stale =
      generation > 1 &&
      timingSafeEqual(sha256(password), sha256(deriveUeKey(fleetKey, ue, generation - 1)));
    return stale
      ? {
          ok: false,
          reason: `fleet-derived key generation ${generation - 1} of UE ${ue} is revoked`,
        }
      : BAD_PASSWORD;
  }

  #hash<T>(task: () => Promise<T>): Promise<T> {
    return this.#hashGate === undefined ? task() : this.#hashGate.run(task);
  }

  #dummyHash(): Promise<ReturnType<typeof parsePasswordHash>> {
    this.#dummy ??= hashPassword(randomBytes(16), DEFAULT_SCRYPT_PARAMS).then(parsePasswordHash);
    return this.#dummy;
  }
}
