/** Gives back one slot of a {@link Semaphore}; calling it again does nothing. */
export type Release = () => void;

/**
 * A counting semaphore with FIFO waiters: the per-process cap on tail jobs running at once,
 * shared by every BullMQ Worker of the process.
 */
export class Semaphore {
  private used = 0;
  private readonly waiters: Array<(release: Release) => void> = [];

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`semaphore capacity must be an integer >= 1, got ${capacity}`);
  }

  /** Slots held right now. */
  get inUse(): number {
    return this.used;
  }

  /** Callers waiting for a slot. */
  get pending(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a slot is free. */
  acquire(): Promise<Release> {
    if (this.used < this.capacity) {
      this.used++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      if (next !== undefined) next(this.releaser());
      else this.used--;
    };
  }
}
