/** Where a tail job's input tensor is read from: the claim key's value, or the claim directory. */

import { type ClaimFiles, isFileClaimMarker } from '../runtime/claim-files.js';
import type { RedisClient } from '../runtime/redis-connect.js';
import { TailJobError } from './errors.js';

/**
 * Reads a claim key's tensor: from `files` when the ingress keeps tensors in a claim directory,
 * else from Redis. Null when the request's tensor is gone (expired, or never stored); a
 * {@link TailJobError} naming `EDGESPLIT_CLAIM_DIR` when this worker and the ingress disagree on
 * where tensors are.
 */
export function tensorLoader(
  redis: RedisClient,
  files: ClaimFiles | undefined,
): (key: string) => Promise<Uint8Array | null> {
  if (files !== undefined)
    return async (key) => {
      const bytes = files.load(key);
      if (bytes !== null || (await redis.exists(key)) === 0) return bytes;
      throw new TailJobError(
        'tensorMissing',
        'TENSOR_MISSING',
        `the claim key ${key} is in Redis but its file is not in ${files.dir}: the ingress ` +
          'keeps tensors elsewhere (EDGESPLIT_CLAIM_DIR must name the same directory, on its host)',
      );
    };
  return async (key) => {
    const bytes = await redis.getBuffer(key);
    if (bytes !== null && isFileClaimMarker(bytes))
      throw new TailJobError(
        'tensorMissing',
        'TENSOR_MISSING',
        'the ingress keeps tensors in a claim directory: start this edge worker on its host ' +
          'with the same directory (EDGESPLIT_CLAIM_DIR)',
      );
    return bytes;
  };
}
