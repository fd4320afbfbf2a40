import { randomBytes } from 'node:crypto';
import { unavailable } from './tools.js';

/**
 * Redis for tests: REDIS_URL (the global setup of the tests that need services sets it: the
 * environment's, else 127.0.0.1:6379, else a private redis-server).
 */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** The independent Mosquitto broker for tests (set by the global setup; see mosquittoMissing). */
export function testMosquittoUrl(): string {
  const url = process.env.MOSQUITTO_URL;
  if (!url)
    throw new Error(
      `MOSQUITTO_URL is not set: ${process.env.EDGESPLIT_NO_MOSQUITTO ?? 'run the tests through vitest (global setup)'}`,
    );
  return url;
}

/**
 * Why the tests on Mosquitto cannot run here (the global setup found no `mosquitto` and this is
 * not CI), or undefined when MOSQUITTO_URL names one.
 */
export function mosquittoMissing(): string | undefined {
  if (process.env.MOSQUITTO_URL) return undefined;
  return unavailable(process.env.EDGESPLIT_NO_MOSQUITTO ?? 'MOSQUITTO_URL is not set');
}

/** A unique Redis key prefix / topic prefix for one test. */
export function uniquePrefix(name = 'edgesplit-test'): string {
  return `${name}-${randomBytes(5).toString('hex')}`;
}
