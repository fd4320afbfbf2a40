/**
 * The ONNX Runtime sessions one thread keeps open, by key, at most `limit` of them: beyond it the
 * least recently used session that no run holds is closed. A session costs memory for as long as
 * it is open (measured: 36-78 MiB for a resnet18 tail, about none for a VGG-16 one, whose weights
 * stay mapped), and a thread would otherwise keep every segment it ever ran or warmed.
 */

interface Closable {
  close(): Promise<void>;
}

interface Entry<T> {
  readonly session: Promise<T>;
  /** Runs holding the session; an entry in use is never closed. */
  users: number;
}

/** Throws unless `limit` is a usable session limit (a positive integer). */
export function checkSessionLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`maxSessions must be a positive integer, not ${limit}`);
}

export class SessionCache<T extends Closable> {
  // Map order is recency order: an entry moves to the end whenever it is used.
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly limit: number) {
    checkSessionLimit(limit);
  }

  /** Sessions open or opening. */
  get size(): number {
    return this.entries.size;
  }

  /** Runs `use` on the session of `key`, opened with `open` if it is not. */
  async with<R>(key: string, open: () => Promise<T>, use: (session: T) => Promise<R>): Promise<R> {
    const entry = this.acquire(key, open);
    try {
      return await use(await entry.session);
    } finally {
      entry.users--;
      this.evict();
    }
  }

  /** Closes every session. */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => closeQuietly(entry.session)));
  }

  private acquire(key: string, open: () => Promise<T>): Entry<T> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const session = open();
      const created: Entry<T> = { session, users: 0 };
      // A failed opening is tried again by the next request rather than cached.
      session.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      entry = created;
    } else this.entries.delete(key);
    this.entries.set(key, entry);
    entry.users++;
    this.evict();
    return entry;
  }

  private evict(): void {
    if (this.entries.size <= this.limit) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limit) return;
      if (entry.users > 0) continue;
      this.entries.delete(key);
      void closeQuietly(entry.session);
    }
  }
}

async function closeQuietly(session: Promise<Closable>): Promise<void> {
  try {
    await (await session).close();
  } catch {
    // A session that failed to open has nothing to close.
  }
}
