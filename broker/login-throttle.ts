/**
 * Who may try a password now. Failed logins are counted per address, per username and per
 * (username, address) pair; past `freeFailures` the key must wait (doubling up to
 * `maxBackoffMs`), and a login it sends meanwhile is refused before any hashing. An address
 * where a username logged in before is "known" for it: that username from there is held back
 * only by its own failures there, never by failures of the address with other names or of the
 * username from elsewhere, so an attack on a name cannot lock its owner out of where it is used.
 * Every table expires its entries and holds a bounded number of them.
 */
import { isValidId } from '../proto/index.js';
import { ExpiringTable } from './expiring-table.js';
import type { LoginLimits } from './login-limits.js';

interface FailureRecord {
  readonly failures: number;
  /** 0 when not waiting. */
  readonly blockedUntil: number;
}

/** A login that may try its password; call `finish` exactly once with what came of it. */
export interface Admission {
  readonly admitted: true;
  /** `none`: neither a success nor a failure (the check could not be made). */
  finish(result: 'success' | 'failure' | 'none'): void;
}

/** A login refused before its password was looked at. */
export interface Holdback {
  readonly admitted: false;
  /** `throttled`: too many failures; `busy`: too many logins of the address being checked. */
  readonly kind: 'throttled' | 'busy';
  readonly reason: string;
}

/** Entries of each table now. */
export interface ThrottleSizes {
  readonly addresses: number;
  readonly usernames: number;
  readonly pairs: number;
  readonly trusted: number;
  readonly inFlight: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class LoginThrottle {
  readonly #limits: LoginLimits;
  readonly #addresses: ExpiringTable<FailureRecord>;
  readonly #usernames: ExpiringTable<FailureRecord>;
  /** Failures of a username from an address known for it. */
  readonly #pairs: ExpiringTable<FailureRecord>;
  readonly #trusted: ExpiringTable<true>;
  /** Logins being checked per address; an entry lives only while one is. */
  readonly #inFlight = new Map<string, number>();

  constructor(limits: LoginLimits) {
    this.#limits = limits;
    const { forgetMs, maxTracked } = limits;
    this.#addresses = new ExpiringTable(forgetMs, maxTracked);
    this.#usernames = new ExpiringTable(forgetMs, maxTracked);
    this.#pairs = new ExpiringTable(forgetMs, maxTracked);
    this.#trusted = new ExpiringTable(limits.trustMs, limits.maxTrusted);
  }

  /**
   * Whether a login as `username` from `address` may try its password now. `address` is a
   * client address as `addressKey` gives it.
   */
  admit(address: string, username: string | undefined, now = Date.now()): Admission | Holdback {
    // Names that are not ids can never log in: they are counted against the address only.
    const name = username !== undefined && isValidId(username) ? username : undefined;
    const pair = name === undefined ? undefined : `${name} ${address}`;
    const trusted = pair !== undefined && this.#trusted.get(pair, now) !== undefined;
    const waits: [ExpiringTable<FailureRecord>, string | undefined, string][] = trusted
      ? [[this.#pairs, pair, `as ${name} from ${address}`]]
      : [
          [this.#addresses, address, `from ${address}`],
          [this.#usernames, name, `as ${name} from addresses not known for it`],
        ];
    for (const [table, key, what] of waits) {
      const record = key === undefined ? undefined : table.get(key, now);
      if (record !== undefined && record.blockedUntil > now)
        return {
          admitted: false,
          kind: 'throttled',
          reason: `throttled: ${record.failures} failed logins ${what}; next try allowed in ${seconds(record.blockedUntil - now)}`,
        };
    }
    const inFlight = this.#inFlight.get(address) ?? 0;
    if (inFlight >= this.#limits.maxPerAddress)
      return {
        admitted: false,
        kind: 'busy',
        reason: `busy: ${inFlight} logins from ${address} are being checked already`,
      };
    this.#inFlight.set(address, inFlight + 1);
    let finished = false;
    const finish = (result: 'success' | 'failure' | 'none') => {
      if (finished) return;
      finished = true;
      const left = (this.#inFlight.get(address) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(address, left);
      else this.#inFlight.delete(address);
      const at = Date.now();
      if (result === 'success' && pair !== undefined) {
        this.#trusted.set(pair, true, at);
        this.#pairs.delete(pair);
      } else if (result === 'failure') {
        if (trusted && pair !== undefined) this.#fail(this.#pairs, pair, at);
        else {
          this.#fail(this.#addresses, address, at);
          if (name !== undefined) this.#fail(this.#usernames, name, at);
        }
      }
    };
    return { admitted: true, finish };
  }

  #fail(table: ExpiringTable<FailureRecord>, key: string, now: number): void {
    const { freeFailures, backoffMs, maxBackoffMs } = this.#limits;
    const failures = (table.get(key, now)?.failures ?? 0) + 1;
    const over = failures - freeFailures;
    const wait = over > 0 ? Math.min(maxBackoffMs, backoffMs * 2 ** Math.min(over - 1, 40)) : 0;
    table.set(key, { failures, blockedUntil: wait > 0 ? now + wait : 0 }, now);
  }

  /** Entries of each table now (expired ones dropped first). */
  sizes(now = Date.now()): ThrottleSizes {
    return {
      addresses: this.#addresses.size(now),
      usernames: this.#usernames.size(now),
      pairs: this.#pairs.size(now),
      trusted: this.#trusted.size(now),
      inFlight: this.#inFlight.size,
    };
  }
}

/**
 * The key a client address is throttled by: an IPv4 address as is (also when IPv4-mapped), an
 * IPv6 address by its /64 prefix (one host commonly holds a whole /64), `unknown` when the
 * socket has none.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]?.split('::') ?? [];
  const split = (part: string) => (part === '' ? [] : part.split(':'));
  const left = split(head);
  const right = split(tail);
  const groups = address.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
