/** The table, target checks and JSON of `npm run bench:system`. */
import { availableParallelism } from 'node:os';
import { renderTable } from '../runtime/table.js';
import { type BareFigures, type BareRatios, cpuTotal } from './system-bare-ratios.js';
import { type LoopbackResult, TENSOR_HOPS } from './system-loopback.js';
import type { ReactionResult } from './system-reaction.js';
import type { RequestResult } from './system-requests.js';
import type { BrokerKind, Layout } from './system-stack.js';

/** Everything measured with one broker. */
export interface BrokerRun {
  readonly broker: BrokerKind;
  /** Services ran with their metrics on (`--metrics on,off`); absent when not asked. */
  readonly metrics?: boolean;
  /** Scrapes of /metrics during the run (metrics on, `single` layout). */
  readonly scrapes?: number;
  /** Absent when the scenario was not run (`--only`). */
  readonly reaction?: ReactionResult;
  /** One request at a time from one UE. */
  readonly sequential?: RequestResult;
  /** Many UEs, many requests in flight. */
  readonly concurrent?: RequestResult;
  /** The same load with 2 KiB tensors: what the system does per request, bytes aside. */
  readonly concurrentSmall?: RequestResult;
  /** Messages per second of the first hop alone (UEs to one subscriber), tensor-sized. */
  readonly brokerCeiling?: number;
  /** The bare path (system-bare.ts) under the same loads, in the same run. */
  readonly bare?: BareFigures;
  /**
   * Project over bare path: requests/s and CPU per request (all of it), each the median over the
   * alternating pairs (`pairRatios`).
   */
  readonly ratios?: BareRatios;
  /** The ratios of each pair, in the order they ran (the first is the one `bare` details). */
  readonly pairRatios?: readonly BareRatios[];
}

/** What this machine's loopback allows (`system-loopback.ts`). */
export interface MachineLimits {
  readonly loopback: LoopbackResult;
  readonly ceiling?: { readonly perSecond: number; readonly coresAtTarget: number };
}

export interface RunSettings {
  readonly layout: Layout;
  readonly quick: boolean;
  readonly edgeWorkers: number;
  readonly seed: number;
}

export interface TargetCheck {
  readonly broker: BrokerKind;
  readonly target: string;
  readonly met: boolean;
  readonly actual: string;
}

export const TARGETS = {
  reactionP50Ms: 5,
  reactionP99Ms: 20,
  requestP50Ms: 5,
  perSecond: 2000,
  /** Project requests/s over the bare path's, at least. */
  bareThroughput: 0.9,
  /** Project CPU per request over the bare path's, at most. */
  bareCpu: 1.1,
} as const;

function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function check(broker: BrokerKind, target: string, met: boolean, actual: string): TargetCheck {
  return { broker, target, met, actual };
}

export function targetChecks(runs: readonly BrokerRun[]): TargetCheck[] {
  return runs.flatMap(({ broker, reaction, sequential, concurrent, ratios }) => [
    ...(reaction === undefined
      ? []
      : [
          check(
            broker,
            `reaction p50 <= ${TARGETS.reactionP50Ms} ms`,
            reaction.latency.p50Ms <= TARGETS.reactionP50Ms,
            `${ms(reaction.latency.p50Ms)} ms`,
          ),
          check(
            broker,
            `reaction p99 <= ${TARGETS.reactionP99Ms} ms`,
            reaction.latency.p99Ms <= TARGETS.reactionP99Ms,
            `${ms(reaction.latency.p99Ms)} ms`,
          ),
        ]),
    ...(sequential === undefined
      ? []
      : [
          check(
            broker,
            `request p50 (one in flight) <= ${TARGETS.requestP50Ms} ms`,
            sequential.latency.p50Ms <= TARGETS.requestP50Ms,
            `${ms(sequential.latency.p50Ms)} ms`,
          ),
        ]),
    ...(concurrent === undefined
      ? []
      : [
          check(
            broker,
            `throughput >= ${TARGETS.perSecond} requests/s`,
            concurrent.perSecond >= TARGETS.perSecond,
            `${concurrent.perSecond.toFixed(0)} requests/s`,
          ),
        ]),
    ...(ratios === undefined ? [] : bareChecks(broker, ratios)),
  ]);
}

function bareChecks(broker: BrokerKind, r: BareRatios): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const [size, throughput, cpu] of [
    ['100 KiB', r.throughput100k, r.cpu100k],
    ['2 KiB', r.throughput2k, r.cpu2k],
  ] as const) {
    checks.push(
      check(
        broker,
        `requests/s >= ${TARGETS.bareThroughput}x the bare path's, ${size}`,
        throughput >= TARGETS.bareThroughput,
        `${ratio(throughput)}x`,
      ),
    );
    if (cpu !== null)
      checks.push(
        check(
          broker,
          `CPU per request <= ${TARGETS.bareCpu}x the bare path's, ${size}`,
          cpu <= TARGETS.bareCpu,
          `${ratio(cpu)}x`,
        ),
      );
  }
  return checks;
}

/**
 * The most requests per second this machine's cores could carry at the measured CPU per request
 * (all of it: UEs, services, Redis), were nothing else waiting: cores x 1,000 / ms per request.
 */
export function cpuCeiling(cpu: RequestResult['cpu']): number | undefined {
  const total = cpuTotal(cpu);
  if (total === undefined || cpu?.redisMs === null || total <= 0) return undefined;
  return (availableParallelism() * 1000) / total;
}

function cpuCell(value: number | null | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value === null ? '-' : value.toFixed(2);
}

/** A table row: label, target, and the cell of one run ('-' when not measured). */
type Row = readonly [label: string, target: string, cell: (run: BrokerRun) => string | undefined];

const ROWS: readonly Row[] = [
  [
    'reaction p50 ms',
    `<= ${TARGETS.reactionP50Ms}`,
    (r) => r.reaction && ms(r.reaction.latency.p50Ms),
  ],
  [
    'reaction p99 ms',
    `<= ${TARGETS.reactionP99Ms}`,
    (r) => r.reaction && ms(r.reaction.latency.p99Ms),
  ],
  ['reaction max ms', '', (r) => r.reaction && ms(r.reaction.latency.maxMs)],
  [
    'changes measured / published',
    '',
    (r) => r.reaction && `${r.reaction.latency.count} / ${r.reaction.published}`,
  ],
  [
    'request p50 ms, 1 in flight',
    `<= ${TARGETS.requestP50Ms}`,
    (r) => r.sequential && ms(r.sequential.latency.p50Ms),
  ],
  ['request p99 ms, 1 in flight', '', (r) => r.sequential && ms(r.sequential.latency.p99Ms)],
  ['throughput requests/s', `>= ${TARGETS.perSecond}`, (r) => r.concurrent?.perSecond.toFixed(0)],
  [
    '  UEs x requests in flight',
    '',
    (r) => r.concurrent && `${r.concurrent.ues} x ${r.concurrent.inFlight / r.concurrent.ues}`,
  ],
  ['  request p50 ms under load', '', (r) => r.concurrent && ms(r.concurrent.latency.p50Ms)],
  ['  request p99 ms under load', '', (r) => r.concurrent && ms(r.concurrent.latency.p99Ms)],
  ['  CPU ms/request, service processes', '', (r) => cpuCell(r.concurrent?.cpu?.servicesMs)],
  ['  CPU ms/request, benchmark process', '', (r) => cpuCell(r.concurrent?.cpu?.benchMs)],
  ['  CPU ms/request, Redis', '', (r) => cpuCell(r.concurrent?.cpu?.redisMs)],
  ['  CPU ms/request, all', '', (r) => cpuCell(cpuTotal(r.concurrent?.cpu))],
  ['  cores / CPU per request, requests/s', '', (r) => cpuCeiling(r.concurrent?.cpu)?.toFixed(0)],
  ['throughput, 2 KiB tensors', '', (r) => r.concurrentSmall?.perSecond.toFixed(0)],
  ['  CPU ms/request, service processes', '', (r) => cpuCell(r.concurrentSmall?.cpu?.servicesMs)],
  ['  CPU ms/request, benchmark process', '', (r) => cpuCell(r.concurrentSmall?.cpu?.benchMs)],
  ['  CPU ms/request, Redis', '', (r) => cpuCell(r.concurrentSmall?.cpu?.redisMs)],
  ['  CPU ms/request, all', '', (r) => cpuCell(cpuTotal(r.concurrentSmall?.cpu))],
  [
    '  cores / CPU per request, requests/s',
    '',
    (r) => cpuCeiling(r.concurrentSmall?.cpu)?.toFixed(0),
  ],
  ['bare path requests/s', '', (r) => r.bare?.requestsPerS100k.toFixed(0)],
  ['  CPU ms/request, all', '', (r) => cpuCell(r.bare?.cpuMsPerRequest100k)],
  ['bare path requests/s, 2 KiB', '', (r) => r.bare?.requestsPerS2k.toFixed(0)],
  ['  CPU ms/request, all', '', (r) => cpuCell(r.bare?.cpuMsPerRequest2k)],
  [
    'project / bare, requests/s',
    `>= ${TARGETS.bareThroughput}`,
    (r) => r.ratios && `${ratio(r.ratios.throughput100k)} (2 KiB ${ratio(r.ratios.throughput2k)})`,
  ],
  [
    'project / bare, CPU per request',
    `<= ${TARGETS.bareCpu}`,
    (r) => r.ratios && `${ratio(r.ratios.cpu100k)} (2 KiB ${ratio(r.ratios.cpu2k)})`,
  ],
  ['  requests/s, each pair', '', (r) => eachPair(r, 'throughput100k', 'throughput2k')],
  ['  CPU per request, each pair', '', (r) => eachPair(r, 'cpu100k', 'cpu2k')],
  ['broker alone, messages/s', '', (r) => r.brokerCeiling?.toFixed(0)],
];

function ratio(value: number | null): string {
  return value === null ? '-' : value.toFixed(2);
}

/** The pairs' ratios of one figure, when there was more than one pair. */
function eachPair(run: BrokerRun, large: keyof BareRatios, small: keyof BareRatios) {
  const pairs = run.pairRatios;
  if (pairs === undefined || pairs.length < 2) return undefined;
  const list = (key: keyof BareRatios) => pairs.map((pair) => ratio(pair[key])).join(' ');
  return `${list(large)} (2 KiB ${list(small)})`;
}

function describe(runs: readonly BrokerRun[], settings: RunSettings): string[] {
  const where =
    settings.layout === 'processes'
      ? 'layout processes: broker, ingress, scheduler and edge workers each a process of the built CLI'
      : 'layout single: broker, ingress, scheduler and edge workers inside the benchmark process, Mosquitto aside';
  const lines = [`System benchmark (${where}${settings.quick ? ', --quick' : ''}).`];
  const reaction = runs.find((r) => r.reaction)?.reaction;
  if (reaction !== undefined)
    lines.push(
      `Reaction: N = ${reaction.ues} UEs (${reaction.scenario} scenario, seed ${settings.seed}, ` +
        `${reaction.pinned ? 'pinned' : 'not pinned'}, ${reaction.localUes} local at the optimum), R = ${reaction.units}. ` +
        "Each change multiplies or divides one UE's uplink by 25 (far past the 10% hysteresis), " +
        "one at a time; only changes that changed that UE's own decision are measured.",
    );
  const sequential = runs.find((r) => r.sequential)?.sequential;
  const concurrent = runs.find((r) => r.concurrent)?.concurrent;
  if (sequential !== undefined && concurrent !== undefined)
    lines.push(
      `Requests: ${sequential.tensorBytes.toLocaleString('en-US')}-byte float32 tensors ` +
        `(resnet18 after layer4.0), zero compute (speed factor 0), ${settings.edgeWorkers} edge ` +
        `worker(s); ${sequential.latency.count} requests one at a time, ` +
        `${concurrent.latency.count} under load.`,
      'Throughput with 2 KiB tensors: the same load, to tell the cost per request from the cost ' +
        'per byte. Broker alone: tensor-sized QoS 1 messages from the same UEs to one subscriber ' +
        '(the first hop of every request, a ceiling for the throughput).',
      'CPU per request (warm-up included): service processes = every service outside the ' +
        'benchmark process (Mosquitto; with --layout processes also broker, ingress, edge ' +
        'workers); benchmark process = the UEs and the services it runs; Redis = the server ' +
        `(INFO cpu); all = the three, which this machine's ${availableParallelism()} cores can ` +
        `spend ${(availableParallelism() * 1000).toLocaleString('en-US')} ms of per second. ` +
        'Cores / CPU per request: the throughput that CPU cost allows on these cores, were ' +
        'they never idle; with 2 KiB tensors it is the bound that no saving per byte can lift.',
    );
  return lines;
}

function machineLines({ loopback, ceiling }: MachineLimits): string[] {
  const lines = [
    `This machine's loopback: one TCP stream carries ${loopback.mbPerSecond.toFixed(0)} MB/s, ` +
      `at ${loopback.cpuMsPerMb.toFixed(2)} CPU ms per MB (both ends).`,
  ];
  if (ceiling !== undefined)
    lines.push(
      `Every request moves its tensor over loopback at least ${TENSOR_HOPS} times (UE to broker, ` +
        `ingress to Redis, Redis to edge worker): that alone caps throughput at ` +
        `${ceiling.perSecond.toFixed(0)} requests/s, and at ${TARGETS.perSecond} requests/s ` +
        `those bytes alone would take ${ceiling.coresAtTarget.toFixed(2)} cores.`,
    );
  return lines;
}

export function printTable(
  runs: readonly BrokerRun[],
  targets: readonly TargetCheck[],
  settings: RunSettings,
  machine: MachineLimits,
): void {
  const header = [
    '',
    'target',
    ...runs.map((r) =>
      r.metrics === undefined ? r.broker : `${r.broker}, metrics ${r.metrics ? 'on' : 'off'}`,
    ),
  ];
  const body = ROWS.filter(([, , cell]) => runs.some((run) => cell(run) !== undefined)).map(
    ([label, target, cell]) => [label, target, ...runs.map((run) => cell(run) ?? '-')],
  );
  const lines = [
    ...describe(runs, settings),
    '',
    renderTable(header, body, 'first-left'),
    '',
    'Targets:',
    ...targets.map((t) => `  ${t.met ? 'met   ' : 'MISSED'} ${t.broker}: ${t.target}: ${t.actual}`),
    '',
    ...machineLines(machine),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
