/**
 * The claim check against the plainest use of Redis for the same bytes, in the same run. The
 * claim check is what the project sends to Redis for one request's tensor: the ingress stores
 * the tensor with a TTL (SET ... EX, on a connection of its own), the edge worker reads it (GET)
 * and deletes it (DEL) in the same write as the SET that keeps the request's answer, which goes
 * out for every request anyway. The duplicate check and the move from the incoming key to the
 * claim key are no commands of their own: the ingress's backlog script, which runs for every
 * request anyway, does them (`broker/backlog.ts`). So the claim check (SET EX, GET, the answer's
 * SET with the claim key's DEL) is measured against a plain SET and GET of the same bytes and
 * the same answer's SET alone. Beside it, the claim check with a DEL in a write of its own,
 * against a plain SET and GET. All one request at a time, the four alternating in rounds, each
 * on fresh connections.
 *
 * Given a claim directory (runtime/claim-files.ts), a fifth arm alternates with them: the claim
 * check with the bytes in a file there (staged, marker SET EX, renamed; read; the claim key
 * deleted with the answer's SET, and the file unlinked), as an ingress and edge workers on one host do
 * with `EDGESPLIT_CLAIM_DIR`, against the same baseline.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ANSWER_TTL_SECONDS, answerKey, claimKey, keptAnswer } from '../proto/index.js';
import { ClaimFiles, FILE_CLAIM_MARKER } from '../runtime/claim-files.js';
import { gatherWrites } from '../runtime/redis-writes.js';
import { medianOrNaN as median } from '../stats/quantile.js';
import { redisCpuMs } from './system-cpu.js';

export interface ClaimCheckResult {
  readonly bytes: number;
  readonly requests: number;
  /** Wall-clock ms per request, median of the rounds: SET EX, GET, the answer's SET with DEL. */
  readonly claimMs: number;
  /** SET, GET, the answer's SET without DEL. */
  readonly baselineMs: number;
  /** The Redis server's CPU ms per request (INFO cpu), whoever else used it meanwhile. */
  readonly claimRedisCpuMs: number | null;
  readonly baselineRedisCpuMs: number | null;
  /** claimMs / baselineMs: the target is at most 1.2. */
  readonly ratio: number;
  /** SET EX, GET, DEL: the claim check with a DEL of its own. */
  readonly separateDelMs: number;
  /** A plain SET and GET. */
  readonly setGetMs: number;
  readonly separateDelRedisCpuMs: number | null;
  readonly setGetRedisCpuMs: number | null;
  /** separateDelMs / setGetMs. */
  readonly separateDelRatio: number;
  /** The claim check with a claim directory, when one was given. */
  readonly files?: {
    readonly dir: string;
    readonly ms: number;
    readonly redisCpuMs: number | null;
    /** ms / baselineMs. */
    readonly ratio: number;
  };
}

const ROUNDS = 10;
const TTL_SECONDS = 120;
/** About the size of a kept result (1,000 floats and the fields around them). */
const ANSWER_BYTES = 4100;

interface Variant {
  /** One request's commands, `n` its number. */
  run(n: number): Promise<void>;
  readonly ms: number[];
  cpu: number | null;
}

export async function measureClaimCheck(
  redisUrl: string,
  redisPrefix: string,
  bytes: number,
  requests: number,
  claimDir?: string,
): Promise<ClaimCheckResult> {
  const files = claimDir === undefined ? undefined : new ClaimFiles(claimDir);
  const tensors = new Redis(redisUrl);
  const worker = new Redis(redisUrl);
  // As the edge worker's connection: the commands of one turn in one write.
  gatherWrites(worker);
  const data = randomBytes(bytes);
  const answer = randomBytes(ANSWER_BYTES);
  const perRound = Math.max(1, Math.floor(requests / ROUNDS));
  const plainKey = `${redisPrefix}:plain`;
  const kept = keptAnswer('result', answer);
  const keep = (n: number, claim?: string) => {
    const key = answerKey(redisPrefix, 'ue-1', `r${n}`);
    const stored = worker.set(key, kept, 'EX', ANSWER_TTL_SECONDS);
    return Promise.all([stored, claim === undefined ? undefined : worker.del(claim)]);
  };
  const variant = (run: (n: number) => Promise<void>): Variant => ({ run, ms: [], cpu: 0 });
  const claim = variant(async (n) => {
    const key = claimKey(redisPrefix, 'ue-1', `r${n}`);
    await tensors.set(key, data, 'EX', TTL_SECONDS);
    await worker.getBuffer(key);
    await keep(n, key);
  });
  const baseline = variant(async (n) => {
    await tensors.set(plainKey, data);
    await worker.getBuffer(plainKey);
    await keep(n);
  });
  const separateDel = variant(async (n) => {
    const key = claimKey(redisPrefix, 'ue-1', `s${n}`);
    await tensors.set(key, data, 'EX', TTL_SECONDS);
    await worker.getBuffer(key);
    await worker.del(key);
  });
  const setGet = variant(async () => {
    await tensors.set(plainKey, data);
    await worker.getBuffer(plainKey);
  });
  const inFiles = variant(async (n) => {
    if (files === undefined) return;
    const key = claimKey(redisPrefix, 'ue-1', `f${n}`);
    const staged = files.stage(key, data);
    await tensors.set(key, FILE_CLAIM_MARKER, 'EX', TTL_SECONDS);
    files.commit(staged, key);
    files.load(key);
    await keep(n, key);
    files.remove(key);
  });
  const variants = [
    claim,
    baseline,
    separateDel,
    setGet,
    ...(files === undefined ? [] : [inFiles]),
  ];
  try {
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of variants) {
        const before = await redisCpuMs(redisUrl);
        const started = performance.now();
        for (let k = 0; k < perRound; k++) await v.run(n++);
        v.ms.push((performance.now() - started) / perRound);
        const after = await redisCpuMs(redisUrl);
        v.cpu =
          v.cpu === null || before === undefined || after === undefined
            ? null
            : v.cpu + after - before;
      }
    }
  } finally {
    await tensors.del(plainKey).catch(() => undefined);
    for (const connection of [tensors, worker]) connection.disconnect();
  }
  const total = perRound * ROUNDS;
  const cpu = (v: Variant) => (v.cpu === null ? null : v.cpu / total);
  const [claimMs, baselineMs, separateDelMs, setGetMs] = [claim, baseline, separateDel, setGet].map(
    (v) => median(v.ms),
  ) as [number, number, number, number];
  return {
    bytes,
    requests: total,
    claimMs,
    baselineMs,
    claimRedisCpuMs: cpu(claim),
    baselineRedisCpuMs: cpu(baseline),
    ratio: claimMs / baselineMs,
    separateDelMs,
    setGetMs,
    separateDelRedisCpuMs: cpu(separateDel),
    setGetRedisCpuMs: cpu(setGet),
    separateDelRatio: separateDelMs / setGetMs,
    ...(files === undefined
      ? {}
      : {
          files: {
            dir: files.dir,
            ms: median(inFiles.ms),
            redisCpuMs: cpu(inFiles),
            ratio: median(inFiles.ms) / baselineMs,
          },
        }),
  };
}

/** Lines for the claim check's figures. */
export function claimLine(c: ClaimCheckResult): string {
  const cpu = (ms: number | null) => (ms === null ? '-' : ms.toFixed(3));
  return (
    `Claim check of ${c.bytes.toLocaleString('en-US')} bytes (SET EX, GET, DEL with the ` +
    `answer's SET): ${c.claimMs.toFixed(3)} ms per request against ${c.baselineMs.toFixed(3)} ` +
    `ms for a plain SET and GET and the answer's SET without DEL (${c.ratio.toFixed(2)}x, ` +
    `target <= 1.2x; Redis CPU ${cpu(c.claimRedisCpuMs)} against ${cpu(c.baselineRedisCpuMs)} ` +
    `ms).\nWith a DEL of its own (SET EX, GET, DEL): ${c.separateDelMs.toFixed(3)} ms against ` +
    `${c.setGetMs.toFixed(3)} ms for a plain SET and GET (${c.separateDelRatio.toFixed(2)}x; ` +
    `Redis CPU ${cpu(c.separateDelRedisCpuMs)} against ${cpu(c.setGetRedisCpuMs)} ms). ` +
    `${c.requests} each, alternating.` +
    (c.files === undefined
      ? ''
      : `\nWith the tensor in a file of ${c.files.dir} instead (claim directory): ` +
        `${c.files.ms.toFixed(3)} ms (${c.files.ratio.toFixed(2)}x the plain SET and GET and the ` +
        `answer's SET; Redis CPU ${cpu(c.files.redisCpuMs)} ms).`)
  );
}
