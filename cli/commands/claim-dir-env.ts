/** The claim directory from the environment (`broker`, `ingress`, `edge-worker`, `up`). */
import { ENV, envValue } from '../../runtime/env.js';

/** `{ claimDir }` when `EDGESPLIT_CLAIM_DIR` is set (runtime/claim-files.ts), else `{}`. */
export function claimDirFromEnv(): { claimDir?: string } {
  const dir = envValue(ENV.claimDir);
  return dir === undefined ? {} : { claimDir: dir };
}
