import { type AnswerChannel, answerKey, readKeptAnswer } from '../proto/index.js';
import type { RedisClient } from './redis-connect.js';

/**
 * The answer kept for a request (`answerKey`), or undefined. A hash left there by an edge worker
 * of an earlier version (it kept answers as hashes, for at most a minute) counts as none.
 */
export async function readAnswer(
  redis: RedisClient,
  redisPrefix: string,
  ue: string,
  requestId: string,
): Promise<{ readonly channel: AnswerChannel; readonly payload: Buffer } | undefined> {
  try {
    return readKeptAnswer(await redis.getBuffer(answerKey(redisPrefix, ue, requestId)));
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('WRONGTYPE')) return undefined;
    throw error;
  }
}
