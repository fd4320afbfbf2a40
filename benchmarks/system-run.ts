/** One broker's share of `npm run bench:system`: its services, scenarios and clean-up. */
import { deleteKeys } from '../cli/up/redis-keys.js';
import { startBarePath } from './system-bare.js';
import { measureBrokerCeiling } from './system-broker-ceiling.js';
import type { BrokerProcess, ServiceEnv } from './system-children.js';
import { cpuMs, ownCpuMs, redisCpuMs } from './system-cpu.js';
import { measureReaction } from './system-reaction.js';
import { type BareFigures, type BrokerRun, bareFigures, bareRatios } from './system-report.js';
import {
  openRequestField,
  REQUEST_MODEL,
  type RequestPlan,
  type RequestResult,
  SMALL_REQUEST_CUT,
} from './system-requests.js';
import {
  type BrokerKind,
  type Layout,
  type Running,
  startBroker,
  startEdgeWorkers,
  startIngressService,
  startSchedulerService,
  stopAll,
} from './system-stack.js';

export const SCENARIOS = ['reaction', 'requests', 'flood'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface RunOptions {
  readonly redisUrl: string;
  readonly layout: Layout;
  readonly scenarios: readonly Scenario[];
  readonly quick: boolean;
  readonly seed: number;
  readonly edgeWorkers: number;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/** Sizes of a full run and of `--quick`. */
export function sizesOf(quick: boolean) {
  const measured = quick ? 2000 : 20_000;
  return {
    reaction: { ues: 200, changes: quick ? 100 : 1000, workers: 4, unitsEach: 25 },
    sequential: { ues: 1, depth: 1, warmup: 50, measured: quick ? 200 : 1000 },
    concurrent: { ues: 50, unitsEach: 4, depth: 8, warmup: measured / 10, measured },
    ceiling: { ues: 50, depth: 8, warmup: measured / 10, measured: measured / 2 },
  };
}

/** Runs the chosen scenarios against a fresh broker of `kind`; removes its Redis keys after. */
export async function benchBroker(
  options: RunOptions,
  kind: BrokerKind,
  runId: string,
): Promise<BrokerRun> {
  const base = `bench-${runId}-${kind}`;
  const redisUrl = options.redisUrl;
  const running: Running[] = [];
  try {
    // The embedded broker hosts its ingress, configured for the request scenario.
    const broker = await startBroker(kind, options.layout, {
      redisUrl,
      topicPrefix: `${base}/requests`,
      redisPrefix: `${base}-requests`,
    });
    running.push(broker);
    // Each scenario has prefixes of its own: the reaction's fake edge workers must not take a
    // share of the request scenario's UEs.
    const envOf = (scenario: Scenario): ServiceEnv => ({
      mqttUrl: broker.url,
      redisUrl,
      topicPrefix: `${base}/${scenario}`,
      redisPrefix: `${base}-${scenario}`,
    });
    let result: BrokerRun = { broker: kind };
    if (options.scenarios.includes('reaction')) {
      const reaction = await benchReaction(options, envOf('reaction'));
      result = { ...result, reaction };
    }
    if (options.scenarios.includes('requests')) {
      options.log('requests ...');
      result = { ...result, ...(await benchRequests(options, envOf('requests'), broker, running)) };
      const ratios = bareRatios(result);
      if (ratios !== undefined) result = { ...result, ratios };
    }
    return result;
  } finally {
    await stopAll(running);
    await deleteKeys(redisUrl, `${base}-*`);
  }
}

async function benchReaction(options: RunOptions, env: ServiceEnv) {
  const sizes = sizesOf(options.quick).reaction;
  options.log(`reaction, N = ${sizes.ues} ...`);
  return measureReaction(env.mqttUrl, env.topicPrefix, { ...sizes, seed: options.seed }, () =>
    startSchedulerService(options.layout, env),
  );
}

async function benchRequests(
  options: RunOptions,
  env: ServiceEnv,
  broker: BrokerProcess,
  running: Running[],
): Promise<{
  sequential: RequestResult;
  concurrent: RequestResult;
  concurrentSmall: RequestResult;
  brokerCeiling: number;
  bare: BareFigures;
}> {
  const sizes = sizesOf(options.quick);
  const load = sizes.concurrent;
  running.push(await startIngressService(options.layout, env, broker));
  const ids = Array.from({ length: options.edgeWorkers }, (_, i) => `bench-edge-${i + 1}`);
  const unitsEach = Math.ceil((load.ues * load.unitsEach) / options.edgeWorkers);
  running.push(
    await startEdgeWorkers(options.layout, env, { ids, unitsEach, models: [REQUEST_MODEL] }),
  );
  const field = await openRequestField(env, load.ues, load.unitsEach);
  running.push({ stop: () => field.close() });
  // The bare path: the same load through the same broker and Redis, on prefixes of its own.
  const bareEnv: ServiceEnv = {
    ...env,
    topicPrefix: `${env.topicPrefix}-bare`,
    redisPrefix: `${env.redisPrefix}-bare`,
  };
  const bare = await startBarePath(bareEnv, load.ues * load.unitsEach);
  running.push(bare);
  const bareField = await openRequestField(bareEnv, load.ues, load.unitsEach, true);
  running.push({ stop: () => bareField.close() });
  const pids = running.flatMap((service) => service.pids ?? []);
  const timed = async (on: typeof field, plan: RequestPlan): Promise<RequestResult> => {
    const services = cpuMs(pids);
    const bench = ownCpuMs();
    const redis = await redisCpuMs(env.redisUrl);
    const result = await on.run(plan);
    const requests = plan.warmup + plan.measured;
    const redisAfter = await redisCpuMs(env.redisUrl);
    const servicesAfter = cpuMs(pids);
    const servicesMs =
      pids.length === 0 || services === undefined || servicesAfter === undefined
        ? null
        : (servicesAfter - services) / requests;
    const redisMs =
      redis === undefined || redisAfter === undefined ? null : (redisAfter - redis) / requests;
    return {
      ...result,
      cpu: { servicesMs, benchMs: (ownCpuMs() - bench) / requests, redisMs },
    };
  };
  options.log('one request at a time ...');
  const sequential = await field.run(sizes.sequential);
  // Project and bare path alternate, so that both see the same share of a busy machine.
  options.log(`${load.ues} UEs x ${load.depth} requests in flight ...`);
  const concurrent = await timed(field, load);
  options.log('the same through the bare path ...');
  const bare100k = await timed(bareField, load);
  options.log('the same with 2 KiB tensors ...');
  const concurrentSmall = await timed(field, { ...load, cut: SMALL_REQUEST_CUT });
  options.log('the same through the bare path ...');
  const bare2k = await timed(bareField, { ...load, cut: SMALL_REQUEST_CUT });
  options.log('the broker alone ...');
  const brokerCeiling = await measureBrokerCeiling(env.mqttUrl, env.topicPrefix, {
    ...sizes.ceiling,
    bytes: concurrent.tensorBytes,
  });
  return {
    sequential,
    concurrent,
    concurrentSmall,
    brokerCeiling,
    bare: bareFigures(bare100k, bare2k),
  };
}
