/** A test's own keys, by SCAN on its prefix: no test runs KEYS (docs/testing.md). */
import { type RedisClient, scanKeys } from '../runtime/redis-connect.js';

/** Every key matching `pattern` (which starts with the test's own prefix). */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  await scanKeys(redis, pattern, async (keys) => {
    found.push(...keys);
  });
  return found;
}
