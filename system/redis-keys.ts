import { connectRedis, createRedis, scanKeys, unlinkKeys } from '../runtime/redis-connect.js';

/** How long the clean-up waits for Redis (a cluster: every slot served) before giving up. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * Deletes every key matching `pattern` (SCAN + UNLINK, so a large keyspace does not block), on
 * every master of a cluster.
 */
export async function deleteKeys(redisUrl: string, pattern: string): Promise<number> {
  const redis = createRedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await connectRedis(redis, CONNECT_TIMEOUT_MS);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  let deleted = 0;
  try {
    await scanKeys(redis, pattern, async (keys) => {
      deleted += await unlinkKeys(redis, keys);
    });
  } finally {
    redis.disconnect();
  }
  return deleted;
}
