/**
 * One login attempt from start to verdict: the throttle first (a held-back login costs no hash),
 * then the password check with scrypt paced by the hash gate, then the throttle told the result.
 */
import type { Identity } from './acl.js';
import type { Authenticator } from './authenticator.js';
import { type HashGate, HashGateFullError } from './hash-gate.js';
import type { LoginThrottle, ThrottleSizes } from './login-throttle.js';

/** The verdict on a login. `bad`: wrong credentials; `throttled`, `busy`: not looked at. */
export type LoginOutcome =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly kind: 'bad' | 'throttled' | 'busy'; readonly reason: string };

/** Login counters since the broker started, and the throttle's tables now. */
export interface LoginStats {
  readonly accepted: number;
  /** Refused after the credentials were checked. */
  readonly refused: number;
  /** Refused without a check: too many failures. */
  readonly throttled: number;
  /** Refused without a check: too many logins being checked. */
  readonly busy: number;
  /** Logins being checked now (admitted, not yet decided). */
  readonly pending: number;
  /** scrypt hashes computed (including decoys for unknown usernames). */
  readonly hashes: number;
  readonly tracked: ThrottleSizes;
}

export class LoginGuard {
  readonly #authenticator: Authenticator;
  readonly #throttle: LoginThrottle;
  readonly #gate: HashGate;
  readonly #counts = { accepted: 0, refused: 0, throttled: 0, busy: 0 };
  #pending = 0;

  constructor(authenticator: Authenticator, throttle: LoginThrottle, gate: HashGate) {
    this.#authenticator = authenticator;
    this.#throttle = throttle;
    this.#gate = gate;
  }

  /** Checks a login from `address` (as `addressKey` gives it). */
  async login(
    address: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<LoginOutcome> {
    const admission = this.#throttle.admit(address, username);
    if (!admission.admitted) {
      this.#counts[admission.kind] += 1;
      return { ok: false, kind: admission.kind, reason: admission.reason };
    }
    let result: 'success' | 'failure' | 'none' = 'none';
    this.#pending += 1;
    try {
      const outcome = await this.#authenticator.authenticate(username, password);
      result = outcome.ok ? 'success' : 'failure';
      if (outcome.ok) {
        this.#counts.accepted += 1;
        return outcome;
      }
      this.#counts.refused += 1;
      return { ok: false, kind: 'bad', reason: outcome.reason };
    } catch (error) {
      if (!(error instanceof HashGateFullError)) throw error;
      this.#counts.busy += 1;
      return { ok: false, kind: 'busy', reason: `busy: ${error.message}` };
    } finally {
      this.#pending -= 1;
      admission.finish(result);
    }
  }

  stats(): LoginStats {
    return {
      ...this.#counts,
      pending: this.#pending,
      hashes: this.#gate.started,
      tracked: this.#throttle.sizes(),
    };
  }
}
