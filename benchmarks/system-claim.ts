/**
 * The claim check against the plainest use of Redis for the same bytes, in the same run. The
 * claim check is what the project sends to Redis for one request's tensor: the ingress stores
 * the tensor under its claim key with a TTL (SET ... EX, on a connection of its own), the edge
 * worker reads it (GET) and drops it once the job is done (DEL). The duplicate check is no
 * command of its own: the ingress's backlog script, which runs for every request anyway, looks
 * for the request's job (`broker/backlog.ts`). The baseline is a SET and a GET of the same
 * bytes. Both one at a time, alternating in rounds, each on fresh connections.
 *
 * Given a claim directory (runtime/claim-files.ts), a third arm alternates with them: the same
 * claim check with the bytes in a file there (staged, marker SET EX, renamed; read; DEL and
 * unlink), as an ingress and edge workers on one host do with `EDGESPLIT_CLAIM_DIR`.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { claimKey } from '../proto/index.js';
import { ClaimFiles, FILE_CLAIM_MARKER } from '../runtime/claim-files.js';
import { medianOrNaN as median } from '../stats/quantile.js';
import { redisCpuMs } from './system-cpu.js';

export interface ClaimCheckResult {
  readonly bytes: number;
  readonly requests: number;
  /** Wall-clock ms per request, median of the rounds. */
  readonly claimMs: number;
  readonly setGetMs: number;
  /** The Redis server's CPU ms per request (INFO cpu), whoever else used it meanwhile. */
  readonly claimRedisCpuMs: number | null;
  readonly setGetRedisCpuMs: number | null;
  /** claimMs / setGetMs: the target is at most 1.2. */
  readonly ratio: number;
  /** The claim check with a claim directory, when one was given. */
  readonly files?: {
    readonly dir: string;
    readonly ms: number;
    readonly redisCpuMs: number | null;
    /** ms / setGetMs. */
    readonly ratio: number;
  };
}

const ROUNDS = 10;
const TTL_SECONDS = 120;

export async function measureClaimCheck(
  redisUrl: string,
  redisPrefix: string,
  bytes: number,
  requests: number,
  claimDir?: string,
): Promise<ClaimCheckResult> {
  const files = claimDir === undefined ? undefined : new ClaimFiles(claimDir);
  const inFiles: number[] = [];
  let filesCpu: number | null = 0;
  const tensors = new Redis(redisUrl);
  const worker = new Redis(redisUrl);
  const data = randomBytes(bytes);
  const perRound = Math.max(1, Math.floor(requests / ROUNDS));
  const claim: number[] = [];
  const plain: number[] = [];
  let claimCpu: number | null = 0;
  let plainCpu: number | null = 0;
  const cpuDelta = async (run: () => Promise<void>): Promise<number | null> => {
    const before = await redisCpuMs(redisUrl);
    await run();
    const after = await redisCpuMs(redisUrl);
    return before === undefined || after === undefined ? null : after - before;
  };
  const add = (total: number | null, delta: number | null) =>
    total === null || delta === null ? null : total + delta;
  try {
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      const claimDelta = await cpuDelta(async () => {
        started = performance.now();
        for (let k = 0; k < perRound; k++) {
          const requestId = `r${n++}`;
          const key = claimKey(redisPrefix, 'ue-1', requestId);
          await tensors.set(key, data, 'EX', TTL_SECONDS);
          await worker.getBuffer(key);
          await worker.del(key);
        }
      });
      claim.push((performance.now() - started) / perRound);
      claimCpu = add(claimCpu, claimDelta);
      const plainKey = `${redisPrefix}:plain`;
      const plainDelta = await cpuDelta(async () => {
        started = performance.now();
        for (let k = 0; k < perRound; k++) {
          await tensors.set(plainKey, data);
          await worker.getBuffer(plainKey);
        }
      });
      plain.push((performance.now() - started) / perRound);
      plainCpu = add(plainCpu, plainDelta);
      if (files === undefined) continue;
      const filesDelta = await cpuDelta(async () => {
        started = performance.now();
        for (let k = 0; k < perRound; k++) {
          const requestId = `r${n++}`;
          const key = claimKey(redisPrefix, 'ue-1', requestId);
          const staged = files.stage(key, data);
          await tensors.set(key, FILE_CLAIM_MARKER, 'EX', TTL_SECONDS);
          files.commit(staged, key);
          files.load(key);
          await worker.del(key);
          files.remove(key);
        }
      });
      inFiles.push((performance.now() - started) / perRound);
      filesCpu = add(filesCpu, filesDelta);
    }
    await tensors.del(`${redisPrefix}:plain`);
  } finally {
    for (const connection of [tensors, worker]) connection.disconnect();
  }
  const total = perRound * ROUNDS;
  const claimMs = median(claim);
  const setGetMs = median(plain);
  return {
    bytes,
    requests: total,
    claimMs,
    setGetMs,
    claimRedisCpuMs: claimCpu === null ? null : claimCpu / total,
    setGetRedisCpuMs: plainCpu === null ? null : plainCpu / total,
    ratio: claimMs / setGetMs,
    ...(files === undefined
      ? {}
      : {
          files: {
            dir: files.dir,
            ms: median(inFiles),
            redisCpuMs: filesCpu === null ? null : filesCpu / total,
            ratio: median(inFiles) / setGetMs,
          },
        }),
  };
}

/** One line for the claim check's figures. */
export function claimLine(c: ClaimCheckResult): string {
  const cpu = (ms: number | null) => (ms === null ? '-' : ms.toFixed(3));
  return (
    `Claim check (SET EX, GET, DEL) of ${c.bytes.toLocaleString('en-US')} bytes: ` +
    `${c.claimMs.toFixed(3)} ms per request against ${c.setGetMs.toFixed(3)} ms for a plain SET ` +
    `and GET (${c.ratio.toFixed(2)}x, target <= 1.2x; Redis CPU ${cpu(c.claimRedisCpuMs)} against ` +
    `${cpu(c.setGetRedisCpuMs)} ms), ${c.requests} each, alternating.` +
    (c.files === undefined
      ? ''
      : ` With the tensor in a file of ${c.files.dir} instead: ${c.files.ms.toFixed(3)} ms ` +
        `(${c.files.ratio.toFixed(2)}x the plain SET and GET; Redis CPU ${cpu(c.files.redisCpuMs)} ms).`)
  );
}
