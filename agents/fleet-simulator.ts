import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IClientOptions } from 'mqtt';
import { type DeviceCut, type Executor, planFleet, type Scenario } from '../dnn/index.js';
import { defined } from '../runtime/defined.js';
import type { BeforeDecision, DeviceSpec } from './agent-options.js';
import type { AgentStats, TaskRecord } from './agent-stats.js';
import type { LinkMode } from './emulated-link.js';
import {
  type FleetSummary,
  summarizeFleet,
  type WindowSummary,
  windowLatencies,
} from './fleet-summary.js';
import { type TraceSpec, traceForUe } from './trace-spec.js';
import type { BandwidthTrace } from './traces.js';
import { startAgent, type UeAgent } from './ue-agent.js';

/** MQTT credentials of one UE. */
export interface Credentials {
  readonly username?: string;
  readonly password?: string;
}

/** Options of {@link runFleet}. */
export interface FleetRunOptions {
  /** Number of UEs (agents), each drawn by `planFleet` (model, device, link class, batch). */
  readonly ues: number;
  /** Seed of `planFleet` and of the bandwidth walks. */
  readonly seed: number;
  /** Zoo models handed out round-robin. @defaultValue the scenario's, else the real models */
  readonly models?: readonly string[];
  /** What devices, links and batches `planFleet` draws from. @defaultValue the `catalog` scenario */
  readonly scenario?: Scenario;
  /** How the UEs' uplinks evolve. */
  readonly trace: TraceSpec;
  readonly mqttUrl: string;
  /** Credentials shared by every agent (see `credentialsFor`). */
  readonly username?: string;
  readonly password?: string;
  /** Per-UE credentials, for brokers whose ACLs tie a UE id to its own login. */
  readonly credentialsFor?: (ue: string) => Credentials;
  /** @defaultValue `edgesplit/v1` */
  readonly topicPrefix?: string;
  /** Seconds to run; without it the fleet runs until `signal` aborts. */
  readonly durationS?: number;
  readonly signal?: AbortSignal;
  /** Seconds between window summaries. @defaultValue 5 */
  readonly summaryEveryS?: number;
  readonly onSummary?: (summary: WindowSummary) => void;
  /** Problems inside an agent (no decision yet, invalid payloads, failed publishes). */
  readonly onWarning?: (ue: string, error: Error) => void;
  /** How often the traces are read, in ms. @defaultValue 100 */
  readonly traceTickMs?: number;
  /** Tasks in flight at the end may finish within this. @defaultValue 2000 */
  readonly stopGraceMs?: number;
  /** Agent options shared by every UE (see `AgentOptions`). */
  readonly requestTimeoutMs?: number;
  readonly maxRetries?: number;
  readonly thinkTimeMs?: number;
  readonly speedFactor?: number;
  readonly linkMode?: LinkMode;
  readonly beforeDecision?: BeforeDecision;
  readonly decisionWaitMs?: number;
  readonly executor?: Executor;
  /** Called once at the end with every agent's id and stats (e.g. for per-UE figures). */
  readonly onFinished?: (
    agents: readonly { readonly id: string; readonly stats: AgentStats }[],
  ) => void;
  /**
   * A UE's measured head instead of its device class's FLOP-based one: the profile it announces
   * and the executor running it (e.g. real inference slowed down to the device's speed).
   * @defaultValue none
   */
  readonly headFor?: (
    model: string,
    device: DeviceSpec,
  ) => { readonly profile: readonly DeviceCut[]; readonly executor: Executor };
  readonly mqttOptions?: IClientOptions;
  /** Called with each agent once started, before its first task (e.g. to follow its metrics). */
  readonly onAgent?: (agent: UeAgent) => void;
}

type WindowTask = Pick<TaskRecord, 'predictedMs' | 'measuredMs' | 'ok'>;

interface Member {
  readonly agent: UeAgent;
  readonly trace: BandwidthTrace;
  mbps: number;
}

/**
 * Runs a simulated fleet in this process: one agent per UE of `planFleet({ ues, seed, models })`,
 * each with its device class, its jittered link and its batch; uplinks follow the trace. Prints
 * nothing itself: window summaries go to `onSummary`. Resolves with the final summary once every
 * agent has stopped and announced itself offline.
 */
export async function runFleet(options: FleetRunOptions): Promise<FleetSummary> {
  const plan = planFleet({
    ues: options.ues,
    units: 0,
    seed: options.seed,
    ...(options.models === undefined ? {} : { models: options.models }),
    ...(options.scenario === undefined ? {} : { scenario: options.scenario }),
  });
  const members = await startMembers(options, plan);
  const started = performance.now();
  const elapsedS = () => (performance.now() - started) / 1000;
  let window: WindowTask[] = [];
  for (const { agent } of members) {
    options.onAgent?.(agent);
    agent.on('task', (task) => window.push(task));
    agent.on('warning', (error) => options.onWarning?.(agent.id, error));
    agent.start();
  }

  const tick = setInterval(() => {
    const t = elapsedS();
    for (const member of members) {
      const mbps = member.trace.mbpsAt(t);
      if (mbps === member.mbps) continue;
      member.mbps = mbps;
      const current = member.agent.linkEstimate;
      // A measuring agent follows its real link, not the trace.
      if (current === undefined || options.linkMode === 'measure') continue;
      member.agent.setLink({ ...current, uplinkMbps: mbps });
    }
  }, options.traceTickMs ?? 100);
  const summaries = setInterval(
    () => {
      const tasks = window;
      window = [];
      options.onSummary?.(windowSummary(members, elapsedS(), tasks));
    },
    (options.summaryEveryS ?? 5) * 1000,
  );

  try {
    await runUntil(options.durationS, options.signal);
  } finally {
    clearInterval(tick);
    clearInterval(summaries);
    const graceMs = options.stopGraceMs ?? 2000;
    await Promise.all(members.map(({ agent }) => agent.stop({ graceMs })));
  }
  const stats = members.map(({ agent }) => ({ id: agent.id, stats: agent.stats() }));
  options.onFinished?.(stats);
  return summarizeFleet(
    members.length,
    stats.map((member) => member.stats),
  );
}

async function startMembers(
  options: FleetRunOptions,
  plan: ReturnType<typeof planFleet>,
): Promise<Member[]> {
  const pending = plan.members.map(async (member, index): Promise<Member> => {
    const ue = defined(plan.instance.ues[index], `UE ${index} of the planned instance`);
    const trace = traceForUe(options.trace, ue.uplinkMbps, options.seed, index);
    const mbps = trace.mbpsAt(0);
    const credentials = options.credentialsFor?.(member.id) ?? options;
    const agent = await startAgent({
      id: member.id,
      model: member.model,
      ...(options.headFor === undefined
        ? { device: member.device }
        : options.headFor(member.model, member.device)),
      batch: ue.batch,
      link: {
        uplinkMbps: mbps,
        rttMs: ue.rttMs ?? 0,
        ...(ue.downlinkMbps === undefined ? {} : { downlinkMbps: ue.downlinkMbps }),
      },
      mqttUrl: options.mqttUrl,
      ...pick(credentials, 'username', 'password'),
      ...pick(
        options,
        'topicPrefix',
        'requestTimeoutMs',
        'maxRetries',
        'thinkTimeMs',
        'speedFactor',
        'linkMode',
        'beforeDecision',
        'decisionWaitMs',
        'executor',
        'mqttOptions',
      ),
    });
    return { agent, trace, mbps };
  });
  const settled = await Promise.allSettled(pending);
  const started = settled.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(started.map(({ agent }) => agent.stop()));
    throw failure.reason;
  }
  return started;
}

/** The defined fields of `source` among `keys` (exactOptionalPropertyTypes refuses undefined). */
function pick<T extends object, K extends keyof T>(source: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}

async function runUntil(durationS: number | undefined, signal: AbortSignal | undefined) {
  if (signal?.aborted) return;
  if (durationS === undefined) {
    if (signal === undefined) throw new Error('runFleet needs durationS or a signal');
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    return;
  }
  await sleep(durationS * 1000, undefined, signal === undefined ? {} : { signal }).catch(() => {});
}

function windowSummary(
  members: readonly Member[],
  atS: number,
  tasks: readonly WindowTask[],
): WindowSummary {
  let online = 0;
  let epoch: number | null = null;
  let ok = 0;
  let failed = 0;
  let retried = 0;
  for (const { agent } of members) {
    if (agent.online) online += 1;
    const decided = agent.decision?.epoch;
    if (decided !== undefined && (epoch === null || decided > epoch)) epoch = decided;
    const stats = agent.counters();
    ok += stats.ok;
    failed += stats.failed;
    retried += stats.retried;
  }
  const ues = members.length;
  return {
    atS,
    ues,
    online,
    epoch,
    tasks: tasks.length,
    ...windowLatencies(tasks),
    ok,
    failed,
    retried,
  };
}
