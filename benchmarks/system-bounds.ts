/**
 * `npm run bench:bounds [-- --broker mosquitto|embedded] [--rounds 3] [--requests 6000] [--json]
 *   [--save]`
 *
 * Where the project's cost per request stands between the bare path of `bench:system` and that
 * path doing what the project's contract asks (system-bare.ts): the request load of
 * `bench:system` (50 UEs x 8 in flight, 100 KiB then 2 KiB tensors) through four arms behind
 * one broker, all inside this process as in its `single` layout:
 *
 * - `project`: broker (or ingress), Redis, edge worker, as `bench:system` runs them;
 * - `bare`: the bare path, one queue for every UE (the reference of `bench:system`'s ratios);
 * - `bare per UE`: a queue and a Worker per UE with a global concurrency, as the allocation needs;
 * - `bare contract`: that, and the queue contract's Redis work (duplicate and backlog check,
 *   kept answer).
 *
 * Each round runs every arm once per size, starting one arm later than the round before, so
 * that no arm always runs first or last on a machine whose pace drifts. Each figure is the
 * median over the rounds; each ratio the median of the rounds' ratios. CPU is all of it: this
 * process, the broker process (Mosquitto) and the Redis server.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { renderTable } from '../runtime/table.js';
import { medianOrNaN } from '../stats/quantile.js';
import { deleteKeys } from '../system/index.js';
import { BenchRun } from './results.js';
import { ARM_UES, ARM_UNITS_EACH, ARMS, type Arm, startArms, withCpu } from './system-arms.js';
import { SMALL_REQUEST_CUT } from './system-requests.js';
import { BROKER_KINDS, type BrokerKind, type Running, stopAll } from './system-stack.js';

const SIZES = ['100 KiB', '2 KiB'] as const;
type Size = (typeof SIZES)[number];

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: 'mosquitto' },
    rounds: { type: 'string', default: '3' },
    requests: { type: 'string', default: '6000' },
    json: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
  },
});
const kind = values.broker as BrokerKind;
if (!BROKER_KINDS.includes(kind))
  throw new RangeError(`--broker must be one of ${BROKER_KINDS.join(', ')}`);
const rounds = Number(values.rounds);
if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 50)
  throw new RangeError('--rounds: an integer from 1 to 50');
const measured = Number(values.requests);
if (!Number.isSafeInteger(measured) || measured < 100)
  throw new RangeError('--requests: an integer of at least 100');

const plan = {
  ues: ARM_UES,
  unitsEach: ARM_UNITS_EACH,
  depth: 8,
  warmup: Math.round(measured / 6),
};

/**
 * One arm's load at one size: requests per second, and CPU ms per request, all of it and its
 * parts (this process, with the simulated UEs; the broker process; the Redis server).
 */
interface Figure {
  readonly requestsPerS: number;
  readonly cpuMsPerRequest: number;
  readonly processMs: number;
  readonly brokerMs: number;
  readonly redisMs: number;
}

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `bench-bounds-${randomBytes(4).toString('hex')}`;
const log = (line: string) => process.stderr.write(`${line}\n`);
const run = new BenchRun('bounds');
const loadBefore = loadavg()[0] ?? 0;
const figures = new Map<string, Figure[]>(); // `${arm} ${size}` -> one per round
const running: Running[] = [];
try {
  const arms = await startArms(kind, redisUrl, base, running);
  const measure = async (arm: Arm, size: Size, requests: number): Promise<Figure> => {
    const load = { ...plan, measured: requests };
    const { result, cpu } = await withCpu(arms.broker, redisUrl, load.warmup + requests, () =>
      arms.field(arm).run(size === '2 KiB' ? { ...load, cut: SMALL_REQUEST_CUT } : load),
    );
    return {
      requestsPerS: result.perSecond,
      cpuMsPerRequest: cpu.processMs + cpu.brokerMs + cpu.redisMs,
      ...cpu,
    };
  };
  log(`warming up every arm (${kind}) ...`);
  for (const arm of ARMS) await measure(arm, '100 KiB', 1000);
  for (let round = 0; round < rounds; round++) {
    const order = ARMS.map((_, k) => ARMS[(k + round) % ARMS.length] as Arm);
    log(`round ${round + 1} of ${rounds}: ${order.join(', ')} ...`);
    for (const size of SIZES)
      for (const arm of order) {
        const figure = await measure(arm, size, measured);
        const key = `${arm} ${size}`;
        figures.set(key, [...(figures.get(key) ?? []), figure]);
      }
  }
} finally {
  await stopAll(running);
  await deleteKeys(redisUrl, `${base}-*`);
}

const of = (arm: Arm, size: Size) => figures.get(`${arm} ${size}`) ?? [];
/** Median over the rounds of `a`'s figure over `b`'s, round by round. */
const ratio = (a: Arm, b: Arm, size: Size, pick: (figure: Figure) => number) =>
  medianOrNaN(
    of(a, size).map((figure, k) => {
      const other = of(b, size)[k];
      return other === undefined ? Number.NaN : pick(figure) / pick(other);
    }),
  );
const throughput = (figure: Figure) => figure.requestsPerS;
const cpu = (figure: Figure) => figure.cpuMsPerRequest;
const result = {
  broker: kind,
  rounds,
  requestsPerRound: measured,
  load: { ues: ARM_UES, inFlight: ARM_UES * plan.depth, unitsEach: ARM_UNITS_EACH },
  arms: Object.fromEntries(
    ARMS.map((arm) => [
      arm,
      Object.fromEntries(
        SIZES.map((size) => [
          size,
          {
            requestsPerS: medianOrNaN(of(arm, size).map(throughput)),
            cpuMsPerRequest: medianOrNaN(of(arm, size).map(cpu)),
            processMs: medianOrNaN(of(arm, size).map((figure) => figure.processMs)),
            brokerMs: medianOrNaN(of(arm, size).map((figure) => figure.brokerMs)),
            redisMs: medianOrNaN(of(arm, size).map((figure) => figure.redisMs)),
            rounds: of(arm, size),
          },
        ]),
      ),
    ]),
  ),
  ratios: Object.fromEntries(
    (
      [
        ['project / bare', 'project', 'bare'],
        ['bare per UE / bare', 'bare per UE', 'bare'],
        ['bare contract / bare', 'bare contract', 'bare'],
        ['project / bare contract', 'project', 'bare contract'],
      ] as const
    ).map(([name, a, b]) => [
      name,
      Object.fromEntries(
        SIZES.map((size) => [
          size,
          { throughput: ratio(a, b, size, throughput), cpu: ratio(a, b, size, cpu) },
        ]),
      ),
    ]),
  ),
  loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 },
};

if (values.save) log(`saved ${run.save(result)}`);
if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  const rows = ARMS.map((arm) => [
    arm,
    ...SIZES.flatMap((size) => {
      const figure = result.arms[arm]?.[size];
      if (figure === undefined) return ['', ''];
      const parts = [figure.processMs, figure.brokerMs, figure.redisMs].map((ms) => ms.toFixed(3));
      return [
        figure.requestsPerS.toFixed(0),
        `${figure.cpuMsPerRequest.toFixed(3)} (${parts.join(' + ')})`,
      ];
    }),
  ]);
  const cpuHeader = 'CPU ms (process + broker + Redis)';
  const header = ['arm', 'req/s 100 KiB', cpuHeader, 'req/s 2 KiB', cpuHeader];
  const ratioRows = Object.entries(result.ratios).map(([name, sizes]) => [
    name,
    ...SIZES.flatMap((size) => [
      sizes[size]?.throughput.toFixed(2) ?? '',
      sizes[size]?.cpu.toFixed(2) ?? '',
    ]),
  ]);
  process.stdout.write(
    `${renderTable(header, rows)}\n\n${renderTable(['ratio (median of rounds)', 'req/s 100 KiB', 'CPU', 'req/s 2 KiB', 'CPU'], ratioRows)}\n` +
      `${kind}, ${rounds} rounds of ${measured} requests per arm and size; load average ` +
      `${result.loadAverage.before.toFixed(2)} before, ${result.loadAverage.after.toFixed(2)} after\n`,
  );
}
