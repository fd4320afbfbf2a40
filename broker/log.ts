/** Where the broker and ingress write their log lines, and the record of refused actions. */

import { logText } from '../proto/index.js';

/** A line-oriented logger; `console` fits. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Writes `[name] level: message` lines to stderr. */
export function stderrLogger(name: string): Logger {
  const write = (level: string) => (message: string) => {
    process.stderr.write(`${new Date().toISOString()} [${name}] ${level}: ${message}\n`);
  };
  return { info: write('info'), warn: write('warn'), error: write('error') };
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

/** Least time between two lines of one throttled kind of refusal. */
const THROTTLE_MS = 1000;

/** Logs every refused action and counts it by kind. */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #counts: RefusalCounts = { connect: 0, publish: 0, subscribe: 0, forward: 0 };
  /** Per throttle key: when its last line was written, and how many went unlogged since. */
  readonly #throttled = new Map<string, { at: number; unlogged: number }>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  record(refusal: Refusal): void {
    this.#counts[refusal.kind] += 1;
    const fields = [
      `client=${logText(refusal.clientId)}`,
      `username=${logText(refusal.username)}`,
      ...(refusal.topic === undefined ? [] : [`topic=${logText(refusal.topic)}`]),
      ...(refusal.remote === undefined ? [] : [`remote=${refusal.remote}`]),
      `reason=${logText(refusal.reason)}`,
    ];
    this.#logger.warn(`refused ${refusal.kind}: ${fields.join(' ')}`);
  }

  /**
   * Counts like `record`, but logs at most one line a second per `key`, saying how many were
   * left unlogged before it: for refusals a flood can cause thousands of times a second.
   */
  recordThrottled(key: string, refusal: Refusal): void {
    const now = Date.now();
    const last = this.#throttled.get(key);
    if (last !== undefined && now - last.at < THROTTLE_MS) {
      this.#counts[refusal.kind] += 1;
      last.unlogged += 1;
      return;
    }
    const unlogged = last?.unlogged ?? 0;
    this.#throttled.set(key, { at: now, unlogged: 0 });
    this.record(
      unlogged === 0
        ? refusal
        : { ...refusal, reason: `${refusal.reason} (and ${unlogged} more not logged)` },
    );
  }

  counts(): RefusalCounts {
    return { ...this.#counts };
  }
}
