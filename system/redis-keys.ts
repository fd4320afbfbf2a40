import { createRedis, scanKeys, unlinkKeys } from '../proto/index.js';

/**
 * Deletes every key matching `pattern` (SCAN + UNLINK, so a large keyspace does not block), on
 * every master of a cluster.
 */
export async function deleteKeys(redisUrl: string, pattern: string): Promise<number> {
  const redis = createRedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
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
