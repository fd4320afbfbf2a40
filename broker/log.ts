/** Where the broker and ingress write their log lines, and the record of refused actions. */

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

/** Long enough to recognise a topic, short enough that hostile input can't flood the log. */
const MAX_LOGGED = 200;

function quoted(value: string | undefined): string {
  if (value === undefined) return '-';
  const text = value.length > MAX_LOGGED ? `${value.slice(0, MAX_LOGGED)}...` : value;
  return JSON.stringify(text);
}

/** Logs every refused action and counts it by kind. */
export class RefusalLog {
  readonly #logger: Logger;
  readonly #counts: RefusalCounts = { connect: 0, publish: 0, subscribe: 0, forward: 0 };

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  record(refusal: Refusal): void {
    this.#counts[refusal.kind] += 1;
    const fields = [
      `client=${quoted(refusal.clientId)}`,
      `username=${quoted(refusal.username)}`,
      ...(refusal.topic === undefined ? [] : [`topic=${quoted(refusal.topic)}`]),
      ...(refusal.remote === undefined ? [] : [`remote=${refusal.remote}`]),
      `reason=${quoted(refusal.reason)}`,
    ];
    this.#logger.warn(`refused ${refusal.kind}: ${fields.join(' ')}`);
  }

  counts(): RefusalCounts {
    return { ...this.#counts };
  }
}
