/**
 * `npx tsx benchmarks/system-profile.ts [--broker mosquitto|embedded] [--size 100k|2k]
 *   [--requests 6000] [--out /tmp/system-profile]`
 *
 * The request load of `bench:system` (50 UEs x 8 in flight) through the four arms of
 * system-arms.ts (the project; the bare path with one queue, with a queue per UE, and with the
 * queue contract's Redis work), behind one broker and inside this process as in the `single`
 * layout, with a V8 CPU profile of each arm's run on its own, `{out}-{arm}.cpuprofile`
 * (`project`, `bare`, `bare-per-ue`, `bare-contract`), for `tsx
 * benchmarks/cpu-profile-summary.ts`. One warm-up run of each arm comes first. Prints
 * requests/s and CPU ms per request of each (this process, Redis, the broker process). The
 * profiles sample wall time on the main thread: on a busy machine a descheduled stretch counts
 * where it fell.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { deleteKeys } from '../system/index.js';
import { ARM_UES, ARM_UNITS_EACH, ARMS, type Arm, startArms, withCpu } from './system-arms.js';
import { SMALL_REQUEST_CUT } from './system-requests.js';
import { BROKER_KINDS, type BrokerKind, type Running, stopAll } from './system-stack.js';

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
const plan = {
  ues: ARM_UES,
  unitsEach: ARM_UNITS_EACH,
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
  const arms = await startArms(kind, redisUrl, base, running);
  const run = async (arm: Arm, profiled: boolean) => {
    const load = profiled ? plan : { ...plan, warmup: 200, measured: 1000 };
    const name = arm.replaceAll(' ', '-').toLowerCase();
    if (profiled) await session.post('Profiler.start');
    const { result, cpu } = await withCpu(arms.broker, redisUrl, load.warmup + load.measured, () =>
      arms.field(arm).run(load),
    );
    process.stdout.write(
      `${profiled ? '' : 'warm-up '}${name}: ${result.perSecond.toFixed(0)} requests/s; CPU ms ` +
        `per request: this process ${cpu.processMs.toFixed(3)}, Redis ${cpu.redisMs.toFixed(3)}, ` +
        `broker process ${cpu.brokerMs.toFixed(3)}\n`,
    );
    if (!profiled) return;
    const { profile } = await session.post('Profiler.stop');
    const file = `${values.out}-${name}.cpuprofile`;
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`  profile: ${file}\n`);
  };
  for (const arm of ARMS) await run(arm, false);
  for (const arm of ARMS) await run(arm, true);
} finally {
  await stopAll(running);
  await deleteKeys(redisUrl, `${base}-*`);
  session.disconnect();
}
