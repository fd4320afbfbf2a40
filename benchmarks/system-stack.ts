/**
 * The services under test for one broker and one layout: `single` runs them all inside the
 * benchmark process (only Mosquitto is a process of its own), `processes` runs each service as
 * its own process through the built CLI, as deployed.
 */
import { silentLogger, startIngress } from '../broker/index.js';
import { type ProcessMetrics, watchIngress } from '../metrics/index.js';
import { asError } from '../runtime/as-error.js';
import {
  startEmbeddedBroker,
  startSchedulerPart,
  startEdgeWorkers as startWorkersInProcess,
} from '../system/index.js';
import {
  type BrokerProcess,
  type Child,
  type ServiceEnv,
  startCli,
  startEmbeddedBrokerProcess,
  startMosquitto,
} from './system-children.js';

export const BROKER_KINDS = ['embedded', 'mosquitto'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

export const LAYOUTS = ['single', 'processes'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** Something running that the benchmark stops at the end. */
export interface Running {
  /** Its processes, when it runs outside the benchmark process. */
  readonly pids?: readonly number[];
  stop(): Promise<void>;
}

/**
 * The broker of `kind`. The embedded one runs its ingress inside (as `edgesplit broker` does),
 * for the topic and Redis prefixes of `env`.
 */
export async function startBroker(
  kind: BrokerKind,
  layout: Layout,
  env: Omit<ServiceEnv, 'mqttUrl'>,
  metrics?: ProcessMetrics,
): Promise<BrokerProcess> {
  if (kind === 'mosquitto') return startMosquitto();
  if (layout === 'processes') return startEmbeddedBrokerProcess(env);
  const embedded = await startEmbeddedBroker({
    ...env,
    port: 0,
    host: '127.0.0.1',
    logFor: () => silentLogger,
    ...(metrics === undefined ? {} : { metrics }),
  });
  return {
    name: 'broker',
    pids: [],
    url: embedded.mqttUrl,
    hasIngress: true,
    stop: embedded.close,
  };
}

export async function startSchedulerService(
  layout: Layout,
  env: ServiceEnv,
  metrics?: ProcessMetrics,
): Promise<Running> {
  if (layout === 'processes')
    return startCli('scheduler', ['scheduler', '--id', 'bench-scheduler'], env, /started/);
  const scheduler = await startSchedulerPart({
    scheduler: { ...env, id: 'bench-scheduler' },
    ...(metrics === undefined ? {} : { metrics }),
  });
  return { stop: scheduler.close };
}

/** The ingress, unless `broker` runs one inside. */
export async function startIngressService(
  layout: Layout,
  env: ServiceEnv,
  broker: BrokerProcess,
  metrics?: ProcessMetrics,
): Promise<Running> {
  if (broker.hasIngress) return { stop: async () => undefined };
  const clientId = `bench-ingress-${env.redisPrefix}`.slice(0, 64);
  if (layout === 'processes')
    return startCli('ingress', ['ingress', '--client-id', clientId], env, /connected/);
  const ingress = await startIngress({ ...env, clientId, logger: silentLogger });
  if (metrics !== undefined) watchIngress(metrics, ingress);
  return { stop: () => ingress.close() };
}

/** Edge worker options of the request benchmarks: no compute at all. */
export interface EdgeWorkerPlan {
  readonly ids: readonly string[];
  readonly unitsEach: number;
  readonly models: readonly string[];
}

export async function startEdgeWorkers(
  layout: Layout,
  env: ServiceEnv,
  plan: EdgeWorkerPlan,
  metrics?: ProcessMetrics,
): Promise<Running> {
  if (layout === 'single') {
    const workers = await startWorkersInProcess({
      ids: plan.ids,
      worker: () => ({ ...env, units: plan.unitsEach, models: plan.models, speedFactor: 0 }),
      ...(metrics === undefined ? {} : { metrics }),
    });
    return { stop: workers.close };
  }
  const started: Running[] = [];
  const stop = async () => {
    await Promise.all(started.map((worker) => worker.stop()));
  };
  try {
    for (const id of plan.ids) {
      const args = ['edge-worker', '--id', id, '--units', `${plan.unitsEach}`];
      args.push('--speed-factor', '0', '--models', plan.models.join(','));
      started.push(await startCli(`edge worker ${id}`, args, env, /online with/));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { pids: started.flatMap((worker) => worker.pids ?? []), stop };
}

/** Stops everything in reverse order of start, reporting but not throwing failures. */
export async function stopAll(running: readonly (Running | Child | undefined)[]): Promise<void> {
  for (const item of [...running].reverse()) {
    try {
      await item?.stop();
    } catch (error) {
      process.stderr.write(`stopping: ${asError(error).message}\n`);
    }
  }
}
