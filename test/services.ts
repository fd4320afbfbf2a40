import { randomBytes } from 'node:crypto';

/** Redis for tests (set by the global setup). */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** The independent Mosquitto broker for tests (set by the global setup). */
export function testMosquittoUrl(): string {
  const url = process.env.MOSQUITTO_URL;
  if (!url)
    throw new Error('MOSQUITTO_URL is not set: run the tests through vitest (global setup)');
  return url;
}

/** A unique Redis key prefix / topic prefix for one test. */
export function uniquePrefix(name = 'edgesplit-test'): string {
  return `${name}-${randomBytes(5).toString('hex')}`;
}
