/**
 * Bounds password hashing: at most `concurrency` scrypt hashes at once (each takes about 50 ms
 * of a core and 16 MiB), at most `maxQueued` waiting, and those of trusted logins (an address
 * that logged in as that user before) ahead of the others, so that a flood of bad logins can
 * neither take every core nor stand in front of a user who is known to be good.
 */

/** `trusted` hashes are started before any `normal` one. */
export type HashPriority = 'trusted' | 'normal';

/** Limits of a `HashGate`. */
export interface HashGateLimits {
  /** Hashes running at once. */
  readonly concurrency: number;
  /** Hashes waiting to start; one more is refused with `HashGateFullError`. */
  readonly maxQueued: number;
}

/** The gate's queue is full: the login is refused at once, without hashing. */
export class HashGateFullError extends Error {
  constructor(maxQueued: number) {
    super(`${maxQueued} password checks are already waiting`);
    this.name = 'HashGateFullError';
  }
}

export class HashGate {
  readonly #limits: HashGateLimits;
  #running = 0;
  #started = 0;
  readonly #queues: Record<HashPriority, (() => void)[]> = { trusted: [], normal: [] };

  constructor(limits: HashGateLimits) {
    for (const [name, value] of Object.entries(limits))
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${name} must be a positive integer, not ${value}`);
    this.#limits = limits;
  }

  /** Hashes started since the gate was made. */
  get started(): number {
    return this.#started;
  }

  /** Hashes running and waiting now. */
  get load(): { readonly running: number; readonly queued: number } {
    return { running: this.#running, queued: this.#queued() };
  }

  #queued(): number {
    return this.#queues.trusted.length + this.#queues.normal.length;
  }

  /** Runs `task` when a slot is free; rejects with HashGateFullError if too many wait. */
  async run<T>(task: () => Promise<T>, priority: HashPriority = 'normal'): Promise<T> {
    if (this.#running >= this.#limits.concurrency) {
      // A trusted login may always wait: its number is bounded by the users and their own
      // addresses, not by what strangers send.
      if (priority === 'normal' && this.#queued() >= this.#limits.maxQueued)
        throw new HashGateFullError(this.#limits.maxQueued);
      await new Promise<void>((resolve) => this.#queues[priority].push(resolve));
    } else this.#running += 1;
    this.#started += 1;
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    // The slot passes straight to the next waiter, so #running stays counted.
    const next = this.#queues.trusted.shift() ?? this.#queues.normal.shift();
    if (next === undefined) this.#running -= 1;
    else next();
  }
}
