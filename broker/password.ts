/**
 * Password hashes: `scrypt$N$r$p$saltB64$hashB64` (node:crypto scrypt, standard base64), so the
 * cost parameters travel with each hash and can be raised later without breaking old ones.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { CredentialsError } from './errors.js';

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
}

/** N = 2^14, r = 8, p = 1: 16 MiB and about 50 ms per hash. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { N: 16_384, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A parsed hash. */
interface ScryptHash extends ScryptParams {
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function scryptAsync(password: Buffer, salt: Buffer, params: ScryptParams, keylen: number) {
  // Node refuses a cost above `maxmem` (32 MiB by default); allow what the parameters need.
  const maxmem = 256 * params.N * params.r + 1024 * 1024;
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, keylen, { ...params, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function checkParams({ N, r, p }: ScryptParams): string | undefined {
  // Bounds keep a hand-edited file from pinning the CPU or memory on every connect.
  if (!Number.isInteger(N) || N < 2 ** 10 || N > 2 ** 20 || (N & (N - 1)) !== 0)
    return 'N must be a power of two from 1024 to 1048576';
  if (!Number.isInteger(r) || r < 1 || r > 32) return 'r must be an integer from 1 to 32';
  if (!Number.isInteger(p) || p < 1 || p > 16) return 'p must be an integer from 1 to 16';
  return undefined;
}

/** Takes a hash string apart; throws CredentialsError (never quoting the hash) if malformed. */
export function parsePasswordHash(encoded: string): ScryptHash {
  const parts = encoded.split('$');
  const [scheme, n, r, p, salt, hash] = parts;
  if (parts.length !== 6 || scheme !== 'scrypt')
    throw new CredentialsError('password hash must look like scrypt$N$r$p$saltB64$hashB64');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const problem = checkParams(params);
  if (problem !== undefined) throw new CredentialsError(`password hash: ${problem}`);
  if (salt === undefined || hash === undefined || !BASE64.test(salt) || !BASE64.test(hash))
    throw new CredentialsError('password hash: salt and hash must be base64');
  const parsed = {
    ...params,
    salt: Buffer.from(salt, 'base64'),
    hash: Buffer.from(hash, 'base64'),
  };
  if (parsed.salt.length < 8) throw new CredentialsError('password hash: salt is too short');
  if (parsed.hash.length < 16 || parsed.hash.length > 64)
    throw new CredentialsError('password hash: hash must be 16 to 64 bytes');
  return parsed;
}

/** Hashes `password` with a fresh random salt. */
export async function hashPassword(
  password: string | Buffer,
  params: ScryptParams = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  const problem = checkParams(params);
  if (problem !== undefined) throw new CredentialsError(`scrypt parameters: ${problem}`);
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(Buffer.from(password), salt, params, KEY_BYTES);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')]
    .map(String)
    .join('$');
}

/** Whether `password` matches `hash` (as parsed by `parsePasswordHash`), in constant time. */
export async function verifyPassword(password: Buffer, hash: ScryptHash): Promise<boolean> {
  const key = await scryptAsync(password, hash.salt, hash, hash.hash.length);
  return timingSafeEqual(key, hash.hash);
}
