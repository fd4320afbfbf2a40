/** Where the broker and ingress write their log lines, and the record of refused actions. */

import { type LogFields, logger } from '../runtime/log.js';
import { logText, MAX_LOGGED_CHARS } from '../runtime/log-text.js';
import { ExpiringTable } from './expiring-table.js';

/**
 * What the broker and the ingress log through: a message (network text in it through
 * `logText`) and optional fields (`ueId`, `clientId`, `topic`: JSON-encoded by the logger).
 */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** The process's logger (runtime/log.ts: JSON lines on stderr) for component `name`. */
export function componentLogger(name: string): Logger {
  return logger(name);
}

/** A logger that drops everything. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Kinds of refused action. `forward` is a delivery stopped at the last moment (should be 0). */
export type RefusalKind = 'connect' | 'publish' | 'subscribe' | 'forward';

/** Counts of refused actions since the broker started. */
export type RefusalCounts = Record<RefusalKind, number>;

/** Who was refused what, as logged. */
export interface Refusal {
  readonly kind: RefusalKind;
  readonly clientId: string | undefined;
  readonly username: string | undefined;
  /** Topic or filter, when the action had one. */
  readonly topic?: string;
  readonly reason: string;
  readonly remote?: string;
}

/** A refusal with a quiet key is logged at most once per key in this time. */
export const QUIET_LOG_EVERY_MS = 10_000;
/** Most quiet keys remembered; beyond it the oldest is forgotten (and may log again). */
const MAX_QUIET_KEYS = 10_000;

interface QuietWindow {
  readonly until: number;
  /** Refusals of this key not logged since the last line. */
  suppressed: number;
}

/** Logs refused actions and counts each by kind. */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #counts: RefusalCounts = { connect: 0, publish: 0, subscribe: 0, forward: 0 };
  readonly #quiet = new ExpiringTable<QuietWindow>(6 * QUIET_LOG_EVERY_MS, MAX_QUIET_KEYS);

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Counts and logs `refusal`. With a `quietKey` (what the refusals are alike in, e.g.
   * `busy logins from 10.0.0.4`), refusals of that key are logged at most once every
   * QUIET_LOG_EVERY_MS, the line saying how many were not logged since the previous one.
   */
  record(refusal: Refusal, quietKey?: string): void {
    this.#counts[refusal.kind] += 1;
    let suppressed = 0;
    if (quietKey !== undefined) {
      const now = Date.now();
      const window = this.#quiet.get(quietKey, now);
      if (window !== undefined && now < window.until) {
        window.suppressed += 1;
        return;
      }
      suppressed = window?.suppressed ?? 0;
      this.#quiet.set(quietKey, { until: now + QUIET_LOG_EVERY_MS, suppressed: 0 }, now);
    }
    const fields = [
      `client=${logText(refusal.clientId)}`,
      `username=${logText(refusal.username)}`,
      ...(refusal.topic === undefined ? [] : [`topic=${logText(refusal.topic)}`]),
      ...(refusal.remote === undefined ? [] : [`remote=${refusal.remote}`]),
      `reason=${logText(refusal.reason)}`,
      ...(suppressed === 0 ? [] : [`(${suppressed} more ${quietKey} not logged)`]),
    ];
    const cut = (value: string | undefined) => value?.slice(0, MAX_LOGGED_CHARS);
    this.#logger.warn(`refused ${refusal.kind}: ${fields.join(' ')}`, {
      refused: refusal.kind,
      clientId: cut(refusal.clientId),
      username: cut(refusal.username),
      ...(refusal.topic === undefined ? {} : { topic: cut(refusal.topic) }),
      ...(suppressed === 0 ? {} : { suppressed }),
    });
  }

  counts(): RefusalCounts {
    return { ...this.#counts };
  }
}
