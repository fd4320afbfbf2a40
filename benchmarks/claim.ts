/**
 * The claim check alone (`npm run bench:claim [-- --quick] [-- --json] [-- --save]
 * [-- --sizes B,...] [-- --claim-dir DIR]`): `system-claim.ts`'s measurement without the rest of `bench:system`,
 * on `REDIS_URL` (default the local Redis), for each tensor size, with the claim directory's arm
 * beside Redis's (default: a fresh directory under /dev/shm, else the temporary directory;
 * `--claim-dir none` leaves it out), and the load average before and after. `--save` writes the
 * run to `benchmarks/results/claim-{date}.json` with the commit and the machine.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchRun } from './results.js';
import { type ClaimCheckResult, claimLine, measureClaimCheck } from './system-claim.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '100352' },
    'claim-dir': { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map((text) => {
  const size = Number(text);
  if (!Number.isSafeInteger(size) || size < 1 || size > 512 * 1024 * 1024)
    throw new Error(`--sizes: ${JSON.stringify(text)} is not a byte count from 1 to 512 MiB`);
  return size;
});
const given = values['claim-dir'];
const ownDir =
  given === undefined
    ? mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'edgesplit-claim-'))
    : undefined;
const claimDir = given === 'none' ? undefined : (given ?? ownDir);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = new BenchRun('claim');
const load = () => loadavg().map((value) => value.toFixed(2));
const loadBefore = load();
const results: ClaimCheckResult[] = [];
try {
  for (const size of sizes) {
    // Fewer requests of large tensors: each round still takes about the same time.
    const requests = Math.max(100, Math.round(((values.quick ? 1000 : 5000) * 100_352) / size));
    results.push(
      await measureClaimCheck(
        redisUrl,
        `bench-${randomBytes(3).toString('hex')}-claim`,
        size,
        requests,
        claimDir,
      ),
    );
  }
} finally {
  if (ownDir !== undefined) rmSync(ownDir, { recursive: true, force: true });
}
const loadAfter = load();
if (values.save)
  process.stderr.write(`saved ${run.save({ claimCheck: results, loadBefore, loadAfter })}\n`);
if (values.json)
  process.stdout.write(
    `${JSON.stringify({ claimCheck: results, loadBefore, loadAfter }, null, 2)}\n`,
  );
else
  process.stdout.write(
    `${results.map(claimLine).join('\n')}\nload average before ${loadBefore.join(' ')}, after ${loadAfter.join(' ')}\n`,
  );
