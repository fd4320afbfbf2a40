/**
 * `npx tsx benchmarks/system-profile.ts [--broker mosquitto|embedded] [--size 100k|2k]
 *   [--requests 6000] [--out /tmp/system-profile]`
 *
 * The request load of `bench:system` (50 UEs x 8 in flight) through the project and through the
 * bare path (system-bare.ts), both behind one broker and inside this process as in the `single`
 * layout, with a V8 CPU profile of each run on its own: `{out}-project.cpuprofile` and
 * `{out}-bare.cpuprofile`, for `tsx benchmarks/cpu-profile-summary.ts`; and the bare path with a
 * queue and a Worker per UE as the project's allocation needs (`{out}-bare-per-ue.cpuprofile`), to
 * tell the cost of that structure from the rest, and that with the queue contract's Redis work
 * (`{out}-bare-contract.cpuprofile`), to tell the cost of the contract from the project's own.
 * One warm-up run of each comes first. Prints requests/s and CPU ms per request of each (this
 * process, Redis, the broker process). The profiles sample wall time on the main thread: on a busy machine a descheduled
 * stretch counts where it fell.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { deleteKeys } from '../system/index.js';
import { startBarePath } from './system-bare.js';
import type { ServiceEnv } from './system-children.js';
import { cpuMs, ownCpuMs, redisCpuMs } from './system-cpu.js';
import {
  openRequestField,
  REQUEST_MODEL,
  type RequestField,
  SMALL_REQUEST_CUT,
} from './system-requests.js';
import {
  BROKER_KINDS,
  type BrokerKind,
  type Running,
  startBroker,
  startEdgeWorkers,
  startIngressService,
  stopAll,
} from './system-stack.js';

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: 'mosquitto' },
    size: { type: 'string', default: '100k' },
    requests: { type: 'string', default: '6000' },
    out: { type: 'string', default: '/tmp/system-profile' },
  },
});
const kind = values.broker as BrokerKind;
if (!BROKER_KINDS.includes(kind))
  throw new RangeError(`--broker must be one of ${BROKER_KINDS.join(', ')}`);
if (values.size !== '100k' && values.size !== '2k') throw new RangeError('--size: 100k or 2k');
const measured = Number(values.requests);
if (!Number.isSafeInteger(measured) || measured < 100)
  throw new RangeError('--requests: an integer of at least 100');

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = `bench-profile-${randomBytes(4).toString('hex')}`;
const UES = 50;
const UNITS_EACH = 4;
const plan = {
  ues: UES,
  unitsEach: UNITS_EACH,
  depth: 8,
  warmup: Math.round(measured / 6),
  measured,
  ...(values.size === '2k' ? { cut: SMALL_REQUEST_CUT } : {}),
};
const running: Running[] = [];
const session = new Session();
session.connect();
await session.post('Profiler.enable');
try {
  const topicPrefix = `${base}/requests`;
  const redisPrefix = `${base}-requests`;
  const broker = await startBroker(kind, 'single', { redisUrl, topicPrefix, redisPrefix });
  running.push(broker);
  const env: ServiceEnv = { mqttUrl: broker.url, redisUrl, topicPrefix, redisPrefix };
  running.push(await startIngressService('single', env, broker));
  const edge = { ids: ['bench-edge-1'], unitsEach: UES * UNITS_EACH, models: [REQUEST_MODEL] };
  running.push(await startEdgeWorkers('single', env, edge));
  const field = await openRequestField(env, UES, UNITS_EACH);
  running.push({ stop: () => field.close() });
  const bareEnv: ServiceEnv = {
    ...env,
    topicPrefix: `${topicPrefix}-bare`,
    redisPrefix: `${redisPrefix}-bare`,
  };
  running.push(await startBarePath(bareEnv, UES * UNITS_EACH));
  const bareField = await openRequestField(bareEnv, UES, UNITS_EACH, true);
  running.push({ stop: () => bareField.close() });
  const perUeEnv: ServiceEnv = {
    ...env,
    topicPrefix: `${topicPrefix}-bare-per-ue`,
    redisPrefix: `${redisPrefix}-bare-per-ue`,
  };
  const perUe = { ues: bareField.ueIds, unitsEach: UNITS_EACH };
  running.push(await startBarePath(perUeEnv, UES * UNITS_EACH, { perUe }));
  const perUeField = await openRequestField(perUeEnv, UES, UNITS_EACH, true);
  running.push({ stop: () => perUeField.close() });
  const contractEnv: ServiceEnv = {
    ...env,
    topicPrefix: `${topicPrefix}-bare-contract`,
    redisPrefix: `${redisPrefix}-bare-contract`,
  };
  running.push(await startBarePath(contractEnv, UES * UNITS_EACH, { perUe, contract: true }));
  const contractField = await openRequestField(contractEnv, UES, UNITS_EACH, true);
  running.push({ stop: () => contractField.close() });

  const run = async (name: string, on: RequestField, profiled: boolean) => {
    const load = profiled ? plan : { ...plan, warmup: 200, measured: 1000 };
    if (profiled) await session.post('Profiler.start');
    const own = ownCpuMs();
    const redis = (await redisCpuMs(redisUrl)) ?? 0;
    const services = cpuMs(broker.pids) ?? 0;
    const result = await on.run(load);
    const count = load.warmup + load.measured;
    const per = (before: number, after: number) => ((after - before) / count).toFixed(3);
    process.stdout.write(
      `${name}: ${result.perSecond.toFixed(0)} requests/s; CPU ms per request: this process ` +
        `${per(own, ownCpuMs())}, Redis ${per(redis, (await redisCpuMs(redisUrl)) ?? 0)}, ` +
        `broker process ${per(services, cpuMs(broker.pids) ?? 0)}\n`,
    );
    if (!profiled) return;
    const { profile } = await session.post('Profiler.stop');
    const file = `${values.out}-${name}.cpuprofile`;
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`  profile: ${file}\n`);
  };
  await run('warm-up project', field, false);
  await run('warm-up bare', bareField, false);
  await run('warm-up bare-per-ue', perUeField, false);
  await run('warm-up bare-contract', contractField, false);
  await run('project', field, true);
  await run('bare', bareField, true);
  await run('bare-per-ue', perUeField, true);
  await run('bare-contract', contractField, true);
} finally {
  await stopAll(running);
  await deleteKeys(redisUrl, `${base}-*`);
  session.disconnect();
}
