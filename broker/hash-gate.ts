/**
 * Bounds password hashing: at most `concurrency` scrypt hashes at once (each takes about 50 ms
 * of a core and 16 MiB) and at most `maxQueued` waiting, so that a flood of logins can neither
 * take every core nor build a queue that a legitimate login waits behind for long.
 */
import { EdgesplitError, type ErrorOptions } from '../proto/index.js';

/** Limits of a `HashGate`. */
export interface HashGateLimits {
  /** Hashes running at once. */
  readonly concurrency: number;
  /** Hashes waiting to start; one more is refused with `HashGateFullError`. */
  readonly maxQueued: number;
}

/** The gate's queue is full: the login is refused at once, without hashing. */
export class HashGateFullError extends EdgesplitError<'LOGIN_QUEUE_FULL'> {
  constructor(maxQueued: number, options?: ErrorOptions) {
    super('LOGIN_QUEUE_FULL', `${maxQueued} password checks are already waiting`, options);
    this.name = 'HashGateFullError';
  }
}

export class HashGate {
  readonly #limits: HashGateLimits;
  #running = 0;
  #started = 0;
  readonly #queue: (() => void)[] = [];

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

  /** Runs `task` when a slot is free; rejects with HashGateFullError if too many wait. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limits.concurrency) {
      if (this.#queue.length >= this.#limits.maxQueued)
        throw new HashGateFullError(this.#limits.maxQueued);
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else this.#running += 1;
    this.#started += 1;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so #running stays counted.
      const next = this.#queue.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}
