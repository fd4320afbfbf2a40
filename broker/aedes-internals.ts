/**
 * The start-up self-check of the aedes internals that publish flow control (publish-flow.ts)
 * relies on. They are not in aedes' typings and may change in any release; aedes is pinned
 * exactly in package.json, and this check makes a changed one stop the broker at start-up,
 * naming the aedes version and what is missing, rather than leave flooding clients unread
 * for good or read without bound.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import { EdgesplitError, type ErrorOptions } from '../proto/index.js';

/** The aedes release the internals below were read from. */
export const AEDES_CHECKED_VERSION = '1.2.0';

/** Each internal a client must have, with the `typeof` it must have. */
const CLIENT_INTERNALS = [
  // The count of packets of the current read still being handled; set to 1 before a resume.
  ['_parsingBatch', 'number'],
  // Reads the next bytes once that count drops to 0; `resume` calls it.
  ['_nextBatch', 'function'],
  ['pause', 'function'],
  ['resume', 'function'],
] as const;

/** aedes lacks an internal the broker's flow control needs. */
export class AedesInternalsError extends EdgesplitError<'AEDES_INTERNALS'> {
  /** The aedes version found. */
  readonly aedesVersion: string;
  /** Each internal missing or of another type, as `name (typeof ..., expected ...)`. */
  readonly missing: readonly string[];
  constructor(aedesVersion: string, missing: readonly string[], options?: ErrorOptions) {
    super(
      'AEDES_INTERNALS',
      `aedes ${aedesVersion} lacks what the broker's flow control needs: ` +
        `client ${missing.join(', ')}; it was written against aedes ${AEDES_CHECKED_VERSION} ` +
        `(install the version package.json pins, or update broker/publish-flow.ts)`,
      options,
    );
    this.name = 'AedesInternalsError';
    this.aedesVersion = aedesVersion;
    this.missing = missing;
  }
}

/** The version of the aedes package this process loads, from its package.json. */
export function aedesVersion(): string {
  const require = createRequire(import.meta.url);
  const manifest = join(dirname(require.resolve('aedes')), 'package.json');
  const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
  const version =
    typeof parsed === 'object' && parsed !== null && 'version' in parsed
      ? parsed.version
      : undefined;
  return typeof version === 'string' ? version : 'of unknown version';
}

/** The internals `client` (an aedes client) lacks or has with another type; none when fine. */
export function missingClientInternals(client: object): string[] {
  const fields = client as Record<string, unknown>;
  return CLIENT_INTERNALS.filter(([name, type]) => typeof fields[name] !== type).map(
    ([name, type]) => `${name} (typeof ${typeof fields[name]}, expected ${type})`,
  );
}

/** Throws `AedesInternalsError` when `client` (an aedes client) lacks an internal. */
export function assertClientInternals(client: object, version: string = aedesVersion()): void {
  const missing = missingClientInternals(client);
  if (missing.length > 0) throw new AedesInternalsError(version, missing);
}

/**
 * Checks the internals on a client made for the purpose by an aedes of its own, on a stream that
 * never connects, then closes both. Throws `AedesInternalsError`.
 */
export async function checkAedesInternals(): Promise<void> {
  const aedes = await Aedes.createBroker();
  const stream = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  try {
    assertClientInternals(aedes.handle(stream));
  } finally {
    stream.destroy();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}
