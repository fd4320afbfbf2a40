/**
 * The four arms that `system-bounds.ts` measures and `system-profile.ts` profiles, behind one
 * broker and inside the benchmark process (the `single` layout of `bench:system`), each with
 * its own prefixes and its own 50 UEs: the project, and the bare path (system-bare.ts) with one
 * queue, with a queue per UE, and with the queue contract's Redis work.
 */

import { startBarePath } from './system-bare.js';
import type { BrokerProcess, ServiceEnv } from './system-children.js';
import { cpuMs, ownCpuMs, redisCpuMs } from './system-cpu.js';
import { openRequestField, REQUEST_MODEL, type RequestField } from './system-requests.js';
import {
  type BrokerKind,
  type Running,
  startBroker,
  startEdgeWorkers,
  startIngressService,
} from './system-stack.js';

export const ARMS = ['project', 'bare', 'bare per UE', 'bare contract'] as const;
export type Arm = (typeof ARMS)[number];

/** UEs of each arm, and the units (queue concurrency) of each UE. */
export const ARM_UES = 50;
export const ARM_UNITS_EACH = 4;

/** The running arms: the broker they share and each arm's UEs. */
export interface Arms {
  readonly broker: BrokerProcess;
  field(arm: Arm): RequestField;
}

/**
 * Starts the broker of `kind`, the project's services and the three bare paths, on prefixes
 * under `base`; everything started is pushed on `running`, for the caller to stop (also when
 * this throws).
 */
export async function startArms(
  kind: BrokerKind,
  redisUrl: string,
  base: string,
  running: Running[],
): Promise<Arms> {
  const topicPrefix = `${base}/requests`;
  const redisPrefix = `${base}-requests`;
  const broker = await startBroker(kind, 'single', { redisUrl, topicPrefix, redisPrefix });
  running.push(broker);
  const env: ServiceEnv = { mqttUrl: broker.url, redisUrl, topicPrefix, redisPrefix };
  running.push(await startIngressService('single', env, broker));
  const units = ARM_UES * ARM_UNITS_EACH;
  const edge = { ids: ['bench-edge-1'], unitsEach: units, models: [REQUEST_MODEL] };
  running.push(await startEdgeWorkers('single', env, edge));
  const fields = new Map<Arm, RequestField>();
  const project = await openRequestField(env, ARM_UES, ARM_UNITS_EACH);
  running.push({ stop: () => project.close() });
  fields.set('project', project);
  for (const arm of ARMS.slice(1)) {
    const suffix = arm.replaceAll(' ', '-').toLowerCase();
    const armEnv: ServiceEnv = {
      ...env,
      topicPrefix: `${topicPrefix}-${suffix}`,
      redisPrefix: `${redisPrefix}-${suffix}`,
    };
    const field = await openRequestField(armEnv, ARM_UES, ARM_UNITS_EACH, true);
    running.push({ stop: () => field.close() });
    const perUe = { ues: field.ueIds, unitsEach: ARM_UNITS_EACH };
    const shape = arm === 'bare' ? {} : { perUe, contract: arm === 'bare contract' };
    running.push(await startBarePath(armEnv, units, shape));
    fields.set(arm, field);
  }
  return {
    broker,
    field(arm) {
      const field = fields.get(arm);
      if (field === undefined) throw new Error(`no field for ${arm}`);
      return field;
    },
  };
}

/** CPU ms per request of one load: this process, the broker process and the Redis server. */
export interface ArmCpu {
  readonly processMs: number;
  readonly brokerMs: number;
  readonly redisMs: number;
}

/**
 * Runs `load` and reads the CPU time it took, divided by `requests`: this process (with the
 * simulated UEs), the broker's process (none for the embedded broker, which runs in this one)
 * and Redis (0 when unreadable).
 */
export async function withCpu<T>(
  broker: BrokerProcess,
  redisUrl: string,
  requests: number,
  load: () => Promise<T>,
): Promise<{ readonly result: T; readonly cpu: ArmCpu }> {
  const own = ownCpuMs();
  const redis = await redisCpuMs(redisUrl);
  const services = cpuMs(broker.pids) ?? 0;
  const result = await load();
  const redisAfter = await redisCpuMs(redisUrl);
  const cpu = {
    processMs: (ownCpuMs() - own) / requests,
    brokerMs: ((cpuMs(broker.pids) ?? 0) - services) / requests,
    redisMs: redis === undefined || redisAfter === undefined ? 0 : (redisAfter - redis) / requests,
  };
  return { result, cpu };
}
