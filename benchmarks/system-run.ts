/** One broker's share of `npm run bench:system`: its services, scenarios and clean-up. */
import { METRICS_ENV } from '../cli/metrics-options.js';
import { ProcessMetrics, startMetricsServer } from '../metrics/index.js';
import { deleteKeys } from '../system/index.js';
import { startBarePath } from './system-bare.js';
import {
  type BareFigures,
  type BareRatios,
  bareFigures,
  medianRatios,
  ratiosOf,
} from './system-bare-ratios.js';
import { measureBrokerCeiling } from './system-broker-ceiling.js';
import type { BrokerProcess, ServiceEnv } from './system-children.js';
import {
  type CommandCount,
  commandsPerRequest,
  cpuMs,
  ownCpuMs,
  redisCommandCounts,
  redisCpuMs,
} from './system-cpu.js';
import { measureReaction } from './system-reaction.js';
import type { BrokerRun } from './system-report.js';
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
  /**
   * Services with their metrics on (`--metrics`): in the `single` layout one registry for all,
   * its /metrics scraped every second as a Prometheus with a 1 s interval would; in `processes`,
   * each process serves its own on a free port (not scraped).
   */
  readonly metrics?: boolean;
  /**
   * Alternating pairs of loads through the project and the bare path (each pair: 100 KiB, then
   * 2 KiB tensors); the ratios are the medians over the pairs. @defaultValue 1
   */
  readonly pairs?: number;
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
  const base = `bench-${runId}-${kind}${options.metrics === true ? '-metrics' : ''}`;
  const redisUrl = options.redisUrl;
  const running: Running[] = [];
  const metrics = options.metrics === true ? new ProcessMetrics() : undefined;
  const savedPort = process.env[METRICS_ENV.port];
  let scrapes = 0;
  if (options.metrics === true && options.layout === 'processes')
    process.env[METRICS_ENV.port] = '0';
  try {
    if (metrics !== undefined) {
      const server = await startMetricsServer(metrics, { port: 0 });
      let inFlight: Promise<void> = Promise.resolve();
      const scrape = setInterval(() => {
        inFlight = fetch(server.url)
          .then((response) => response.text())
          .then(
            () => {
              scrapes += 1;
            },
            (error: unknown) => options.log(`scrape failed: ${String(error)}`),
          );
      }, 1000);
      running.push({
        stop: async () => {
          clearInterval(scrape);
          // A scrape still in flight would fail against the closed server.
          await inFlight;
          await server.close();
        },
      });
    }
    // The embedded broker hosts its ingress, configured for the request scenario.
    const broker = await startBroker(
      kind,
      options.layout,
      { redisUrl, topicPrefix: `${base}/requests`, redisPrefix: `${base}-requests` },
      metrics,
    );
    running.push(broker);
    // Each scenario has prefixes of its own: the reaction's fake edge workers must not take a
    // share of the request scenario's UEs.
    const envOf = (scenario: Scenario): ServiceEnv => ({
      mqttUrl: broker.url,
      redisUrl,
      topicPrefix: `${base}/${scenario}`,
      redisPrefix: `${base}-${scenario}`,
    });
    let result: BrokerRun = {
      broker: kind,
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    };
    if (options.scenarios.includes('reaction')) {
      const reaction = await benchReaction(options, envOf('reaction'), metrics);
      result = { ...result, reaction };
    }
    if (options.scenarios.includes('requests')) {
      options.log('requests ...');
      const requests = await benchRequests(options, envOf('requests'), broker, running, metrics);
      result = { ...result, ...requests, ratios: medianRatios(requests.pairRatios) };
    }
    return metrics === undefined ? result : { ...result, scrapes };
  } finally {
    if (savedPort === undefined) delete process.env[METRICS_ENV.port];
    else process.env[METRICS_ENV.port] = savedPort;
    await stopAll(running);
    await deleteKeys(redisUrl, `${base}-*`);
  }
}

async function benchReaction(options: RunOptions, env: ServiceEnv, metrics?: ProcessMetrics) {
  const sizes = sizesOf(options.quick).reaction;
  options.log(`reaction, N = ${sizes.ues} ...`);
  return measureReaction(env.mqttUrl, env.topicPrefix, { ...sizes, seed: options.seed }, () =>
    startSchedulerService(options.layout, env, metrics),
  );
}

async function benchRequests(
  options: RunOptions,
  env: ServiceEnv,
  broker: BrokerProcess,
  running: Running[],
  metrics?: ProcessMetrics,
): Promise<{
  sequential: RequestResult;
  concurrent: RequestResult;
  concurrentSmall: RequestResult;
  brokerCeiling: number;
  bare: BareFigures;
  pairRatios: BareRatios[];
}> {
  const sizes = sizesOf(options.quick);
  const load = sizes.concurrent;
  running.push(await startIngressService(options.layout, env, broker, metrics));
  const ids = Array.from({ length: options.edgeWorkers }, (_, i) => `bench-edge-${i + 1}`);
  const unitsEach = Math.ceil((load.ues * load.unitsEach) / options.edgeWorkers);
  running.push(
    await startEdgeWorkers(
      options.layout,
      env,
      { ids, unitsEach, models: [REQUEST_MODEL] },
      metrics,
    ),
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
  const timed = async (
    on: typeof field,
    plan: RequestPlan,
    listCommands = true,
  ): Promise<RequestResult> => {
    const services = cpuMs(pids);
    const bench = ownCpuMs();
    const redis = await redisCpuMs(env.redisUrl);
    const commands = await redisCommandCounts(env.redisUrl);
    const result = await on.run(plan);
    const requests = plan.warmup + plan.measured;
    const commandsAfter = await redisCommandCounts(env.redisUrl);
    const redisAfter = await redisCpuMs(env.redisUrl);
    const servicesAfter = cpuMs(pids);
    const servicesMs =
      pids.length === 0 || services === undefined || servicesAfter === undefined
        ? null
        : (servicesAfter - services) / requests;
    const redisMs =
      redis === undefined || redisAfter === undefined ? null : (redisAfter - redis) / requests;
    const redisCommands =
      commands === undefined || commandsAfter === undefined
        ? undefined
        : commandsPerRequest(commands, commandsAfter, requests);
    if (redisCommands !== undefined && listCommands)
      options.log(`  Redis per request: ${commandLine(redisCommands)}`);
    return {
      ...result,
      cpu: { servicesMs, benchMs: (ownCpuMs() - bench) / requests, redisMs },
      ...(redisCommands === undefined ? {} : { redisCommands }),
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
  // One pair is at the mercy of a noisy minute: more pairs, each ratio their median.
  const pairRatios = [ratiosOf(concurrent, bare100k, concurrentSmall, bare2k)];
  const pairs = options.pairs ?? 1;
  for (let k = 2; k <= pairs; k++) {
    options.log(`pair ${k} of ${pairs}: project, bare path, at 100 KiB then 2 KiB ...`);
    const project100k = await timed(field, load, false);
    const bareLarge = await timed(bareField, load, false);
    const project2k = await timed(field, { ...load, cut: SMALL_REQUEST_CUT }, false);
    const bareSmall = await timed(bareField, { ...load, cut: SMALL_REQUEST_CUT }, false);
    pairRatios.push(ratiosOf(project100k, bareLarge, project2k, bareSmall));
  }
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
    pairRatios,
  };
}

/**
 * The calls in all, then `calls command (µs)` for each (a script's µs include those of the
 * calls it made, which are listed too).
 */
function commandLine(commands: Readonly<Record<string, CommandCount>>): string {
  const rows = Object.entries(commands);
  const calls = rows.reduce((sum, [, c]) => sum + c.calls, 0);
  const each = rows.map(([name, c]) => `${c.calls.toFixed(2)} ${name} (${c.usec.toFixed(1)})`);
  return `${calls.toFixed(1)} calls: ${each.join(', ')}`;
}
