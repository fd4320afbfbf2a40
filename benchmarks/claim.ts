/**
 * The claim check alone (`npm run bench:claim [-- --quick] [-- --json]`): `system-claim.ts`'s
 * measurement without the rest of `bench:system`, on `REDIS_URL` (default the local Redis),
 * with the load average before and after.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { claimLine, measureClaimCheck } from './system-claim.js';

const TENSOR_BYTES = 100_352;

const args = new Set(process.argv.slice(2));
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const load = () => loadavg().map((value) => value.toFixed(2));
const loadBefore = load();
const result = await measureClaimCheck(
  redisUrl,
  `bench-${randomBytes(3).toString('hex')}-claim`,
  TENSOR_BYTES,
  args.has('--quick') ? 1000 : 5000,
);
const loadAfter = load();
if (args.has('--json'))
  process.stdout.write(
    `${JSON.stringify({ claimCheck: result, loadBefore, loadAfter }, null, 2)}\n`,
  );
else
  process.stdout.write(
    `${claimLine(result)}\nload average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}\n`,
  );
