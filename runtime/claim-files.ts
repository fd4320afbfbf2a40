/**
 * The claim check's tensors in files of a directory instead of in Redis values, for an ingress
 * and edge workers on one host (a tmpfs such as `/dev/shm`: the bytes are copied once into
 * memory and once out, instead of over two Redis connections). The contract is unchanged: the
 * request's claim key in Redis says that its tensor is stored (the backlog counts it, its TTL
 * bounds it, deleting it ends it); with files its value is {@link FILE_CLAIM_MARKER} and the
 * bytes are in the file named after the key (docs/scale-out.md, "Claim directory").
 *
 * A request's bytes are first written to a staging file of their own, then renamed to the
 * key's file once the backlog script has admitted the request, before its job is added: a
 * duplicate or refused request drops only its staging file, and a worker never sees a file
 * half written. Files whose request ended without cleanup (a process killed between the steps)
 * are removed by {@link ClaimFiles.sweep} once older than the claim TTL.
 *
 * The reads and writes are synchronous: on a tmpfs they are a memory copy, and going through
 * libuv's thread pool cost more than the copy (measured on a 2-core machine, write, rename,
 * read and unlink of 100 KiB: 0.04 ms synchronous against 0.35 ms asynchronous; 12 MiB: 4.4
 * against 8.3 ms). They hold the event loop for that copy, so the directory should be a tmpfs
 * ({@link ClaimFiles.tmpfs} says whether it is): on a disk they would wait for the disk.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { OptionError } from '../proto/errors.js';
import { asError } from './as-error.js';

/** The claim key's value when its tensor is in a claim directory. */
export const FILE_CLAIM_MARKER = Buffer.from('edgesplit-claim-file/1');

/** Whether bytes read from a claim key are the marker rather than a tensor. */
export function isFileClaimMarker(bytes: Uint8Array): boolean {
  return bytes.length === FILE_CLAIM_MARKER.length && FILE_CLAIM_MARKER.equals(bytes);
}

const STAGING_SUFFIX = '.part';

/** A claim directory that cannot be used: not absolute, not a directory, or not writable. */
export class ClaimDirError extends OptionError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, option: 'EDGESPLIT_CLAIM_DIR' });
    this.name = 'ClaimDirError';
  }
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

/** `statfs` type of a tmpfs (Linux). */
const TMPFS_MAGIC = 0x01021994;

export class ClaimFiles {
  readonly dir: string;
  /** Whether the directory is on a tmpfs (memory), as it should be. */
  readonly tmpfs: boolean;

  /**
   * Uses `dir`, creating it (mode 0700) if missing; throws {@link ClaimDirError} if it is not an
   * absolute path to a directory this process can read and write.
   */
  constructor(dir: string) {
    if (!isAbsolute(dir))
      throw new ClaimDirError(
        `claim directory must be an absolute path, not ${JSON.stringify(dir)}`,
      );
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (error) {
      const reason = asError(error).message;
      throw new ClaimDirError(`claim directory ${dir} cannot be used: ${reason}`);
    }
    this.dir = dir;
    this.tmpfs = statfsSync(dir).type === TMPFS_MAGIC;
  }

  /** The file of a claim key: a hash, so that no UE or request id reaches a path. */
  fileOf(claimKey: string): string {
    const name = createHash('sha256').update(claimKey).digest('hex').slice(0, 40);
    return join(this.dir, name);
  }

  /** Writes a request's bytes to a staging file of its own and returns its path. */
  stage(claimKey: string, bytes: Uint8Array): string {
    const path = `${this.fileOf(claimKey)}.${randomBytes(6).toString('hex')}${STAGING_SUFFIX}`;
    writeFileSync(path, bytes, { mode: 0o600 });
    return path;
  }

  /** Makes a staged file the claim key's tensor (replacing one left by an earlier attempt). */
  commit(staged: string, claimKey: string): void {
    renameSync(staged, this.fileOf(claimKey));
  }

  /** Removes a staging file; nothing if it is gone. */
  discard(staged: string): void {
    rmSync(staged, { force: true });
  }

  /** The claim key's tensor, or null if its file is gone. */
  load(claimKey: string): Buffer | null {
    try {
      return readFileSync(this.fileOf(claimKey));
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return null;
      throw error;
    }
  }

  /** Removes the claim key's tensor; nothing if it is gone. */
  remove(claimKey: string): void {
    rmSync(this.fileOf(claimKey), { force: true });
  }

  /**
   * Removes the files (tensors and staging files) last written more than `olderThanMs` ago,
   * as of `now`; returns how many. Only names this store writes are touched.
   */
  async sweep(olderThanMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      if (!/^[0-9a-f]{40}(\.[0-9a-f]{12}\.part)?$/.test(name)) continue;
      const path = join(this.dir, name);
      try {
        if (now - (await stat(path)).mtimeMs <= olderThanMs) continue;
        await rm(path, { force: true });
        removed += 1;
      } catch (error) {
        if (codeOf(error) !== 'ENOENT') throw error;
      }
    }
    return removed;
  }
}
