/**
 * `edgesplit lab`: the system on real hosts and shaped links on one machine. The edge (a private
 * redis-server and `edgesplit up --ues 0`: broker, ingress, scheduler, edge workers) runs in one
 * network namespace, each UE (`edgesplit agent`) in its own, joined to the edge by a veth pair
 * shaped with tbf both ways; the lab changes the shaped rates along the trace and collects what
 * the UEs report (docs/links-and-lab.md, "The lab").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { modelCuts } from '../../dnn/index.js';

export type { LabObservations } from './lab-report.js';

import { onPath, REDIS_INSTALL_HINT } from '../../system/index.js';
import { LAB_EDGE_METRICS_PORT } from './edge-metrics-source.js';
import {
  type Child,
  selfCommand,
  startIn,
  startMetricsRelay,
  stop,
  until,
} from './lab-processes.js';
import {
  type LabChange,
  type LabDecision,
  type LabLink,
  type LabObservations,
  type LabReport,
  type LabTask,
  labReport,
} from './lab-report.js';
import {
  buildNetwork,
  checkPrivileges,
  type LabTopology,
  LabUnavailableError,
  labTopology,
  removeStale,
  shape,
  type TcSupport,
  teardown,
} from './netns.js';
import { referenceMbps } from './reference-transfer.js';

/** One UE of the lab: its model, device and starting link. */
export interface LabUe {
  readonly id: string;
  readonly model: string;
  readonly device: string;
  readonly uplinkMbps: number;
  readonly downlinkMbps: number;
  /** With `fixedLinks`: the rates the UE reports for ever (`--link real`). */
  readonly reported?: {
    readonly uplinkMbps: number;
    readonly rttMs: number;
    readonly downlinkMbps?: number;
  };
}

export interface LabOptions {
  readonly ues: readonly LabUe[];
  readonly durationS: number;
  /** From `atS` seconds on, every UE's uplink is shaped at `mbps`. */
  readonly steps: readonly { readonly atS: number; readonly mbps: number }[];
  /** UEs report fixed rates (`reported`) instead of measuring. */
  readonly fixedLinks: boolean;
  readonly thinkMs: number;
  readonly batch: number;
  readonly probeIntervalS: number;
  readonly workers: number;
  readonly units: number;
  readonly signal: AbortSignal;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
  /** Every line the edge and the agents write on stderr, prefixed with who wrote it. */
  readonly verbose?: boolean;
  /** With `verbose`: passes on one line `name` (the edge, a UE) wrote. @defaultValue `log` */
  readonly relay?: (name: string, line: string) => void;
  /**
   * After the run, time a bulk TCP transfer over each UE's shaped uplink (cli/lab/reference-transfer.ts)
   * and report it with the estimate. @defaultValue false
   */
  readonly reference?: boolean;
  /** The command that runs the edgesplit CLI. @defaultValue this process's own */
  readonly cli?: readonly string[];
  /**
   * The edge's metrics relayed to the Unix socket `socket` (`lab --metrics-port`); `args`: the
   * other `--metrics-*` options of its `up`.
   */
  readonly metrics?: { readonly socket: string; readonly args: readonly string[] };
}

export interface LabResult {
  readonly report: LabReport;
  readonly tc: TcSupport;
  /** Stale namespaces removed at the start. */
  readonly removed: readonly string[];
  /** UEs whose agent ended without printing its counters (it crashed): their requests are unknown. */
  readonly silent: readonly string[];
  /** Everything the report was computed from (for benchmarks). */
  readonly observations: LabObservations;
}

const COUNTERS = /requests ok (\d+) failed (\d+)/;

/** Builds the lab, runs it for `durationS`, tears it down; resolves with the report. */
export async function runLab(options: LabOptions): Promise<LabResult> {
  await checkPrivileges();
  if (!onPath('redis-server'))
    throw new LabUnavailableError(`the edge namespace needs redis-server: ${REDIS_INSTALL_HINT}`);
  const removed = await removeStale();
  if (removed.length > 0)
    options.log(`lab: removed what a lab no longer running left: ${removed.join(', ')}`);
  const topology: LabTopology = labTopology(options.ues.length);
  const children: Child[] = [];
  const { log, signal } = options;
  const echo =
    options.verbose === true
      ? (options.relay ?? ((name: string, line: string) => log(`${name}: ${line}`)))
      : undefined;
  const tasks: LabTask[] = [];
  const decisions: LabDecision[] = [];
  const links: LabLink[] = [];
  const changes: LabChange[] = [];
  const shaped = new Map<string, number>();
  const counters = new Map<string, { ok: number; failed: number }>();
  const silent: string[] = [];
  try {
    const tc = await buildNetwork(topology, options.ues);
    for (const ue of options.ues) shaped.set(ue.id, ue.uplinkMbps);
    log(
      `lab: ${options.ues.length} UE namespaces and ${topology.edgeNs}; tc: tbf yes, netem ` +
        `${tc.netem ? "yes (not used: the RTT is the real path's)" : "MISSING (no added delay: the RTT is the veth's own, well under 1 ms)"}`,
    );
    const self = options.cli === undefined ? selfCommand() : [...options.cli];
    const redis = startIn(
      topology.edgeNs,
      'redis-server',
      ['redis-server', '--port', '6379', '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {},
      () => {},
    );
    children.push(redis);
    let edgeReady = false;
    const edge = startIn(
      topology.edgeNs,
      'edge',
      [
        ...self,
        'up',
        '--ues',
        '0',
        '--executor',
        'emulated',
        '--port',
        '1883',
        '--host',
        '0.0.0.0',
        '--workers',
        String(options.workers),
        '--units',
        String(options.units),
        '--summary-every',
        '3600',
        ...(options.metrics === undefined
          ? []
          : ['--metrics-port', String(LAB_EDGE_METRICS_PORT), ...options.metrics.args]),
      ],
      { REDIS_URL: 'redis://127.0.0.1:6379', EDGESPLIT_REDIS_PREFIX: 'eslab' },
      (line) => {
        if (line.startsWith('edgesplit up: broker')) edgeReady = true;
      },
      echo,
    );
    children.push(edge);
    await until(
      () => edgeReady || edge.process.exitCode !== null,
      30_000,
      'the edge did not start',
      signal,
    );
    if (!edgeReady) throw new Error(`the edge exited: ${edge.stderr.trim()}`);
    if (options.metrics !== undefined)
      await startMetricsRelay(topology.edgeNs, options.metrics.socket, signal, (relay) =>
        children.push(relay),
      );

    const agents = topology.ues.map((link, index) => {
      const ue = options.ues[index];
      if (ue === undefined) throw new Error(`no UE ${index}`);
      const linkArgs =
        options.fixedLinks && ue.reported !== undefined
          ? [
              '--link',
              'real',
              '--uplink-mbps',
              String(ue.reported.uplinkMbps),
              '--rtt-ms',
              String(ue.reported.rttMs),
              ...(ue.reported.downlinkMbps === undefined
                ? []
                : ['--downlink-mbps', String(ue.reported.downlinkMbps)]),
            ]
          : ['--link', 'measure', '--probe-interval', String(options.probeIntervalS)];
      const child = startIn(
        link.ns,
        ue.id,
        [
          ...self,
          'agent',
          '--id',
          ue.id,
          '--model',
          ue.model,
          '--device',
          ue.device,
          '--batch',
          String(options.batch),
          '--think-ms',
          String(options.thinkMs),
          ...linkArgs,
          '--json',
        ],
        { MQTT_URL: `mqtt://${link.edgeAddress}:1883` },
        (line) => collect(ue.id, line),
        echo,
      );
      children.push(child);
      return child;
    });

    function collect(ue: string, line: string): void {
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const at = typeof value.at === 'number' ? value.at : Date.now();
      if (typeof value.task === 'number')
        tasks.push({ ...(value as unknown as LabTask), ue, at: Date.now() });
      const decision = value.decision as { epoch: number; cut: number } | undefined;
      if (decision !== undefined)
        decisions.push({ ue, at, epoch: decision.epoch, cut: decision.cut });
      const link = value.link as { uplinkMbps: number; source?: string } | undefined;
      if (link !== undefined)
        links.push({ ue, at, uplinkMbps: link.uplinkMbps, source: link.source });
    }

    // Node takes its time to start on a loaded machine: the clock starts once every UE is online.
    await until(
      () =>
        agents.every((agent) => / online \(/.test(agent.stderr) || agent.process.exitCode !== null),
      120_000,
      'the UEs did not come online',
      signal,
    );
    const down = agents.filter((agent) => agent.process.exitCode !== null);
    if (down.length > 0)
      throw new Error(`${down.map((a) => a.name).join(', ')} exited: ${down[0]?.stderr.trim()}`);
    const startedAt = Date.now();
    log(`lab: ${agents.length} UEs running for ${options.durationS} s`);
    const steps = [...options.steps].sort((a, b) => a.atS - b.atS);
    for (const step of steps) {
      const waitMs = startedAt + step.atS * 1000 - Date.now();
      if (step.atS >= options.durationS) break;
      if (waitMs > 0) await sleep(waitMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      for (const [index, link] of topology.ues.entries()) {
        const ue = options.ues[index];
        if (ue === undefined) continue;
        await shape(link.ns, link.ueIf, step.mbps);
        shaped.set(ue.id, step.mbps);
        changes.push({ ue: ue.id, at: Date.now(), mbps: step.mbps });
      }
      log(`lab: t=${step.atS}s uplinks shaped at ${step.mbps} Mbps`);
    }
    const endAt = startedAt + options.durationS * 1000;
    if (!signal.aborted)
      await sleep(Math.max(0, endAt - Date.now()), undefined, { signal }).catch(() => {});
    // Stopping, the agents give tasks in flight a second and print their counters.
    await Promise.all(agents.map((agent) => stop(agent, 'SIGTERM', 15_000)));
    for (const agent of agents) {
      const match = COUNTERS.exec(agent.stderr);
      counters.set(agent.name, {
        ok: Number(match?.[1] ?? 0),
        failed: match === null ? 0 : Number(match[2]),
      });
      if (match === null) {
        silent.push(agent.name);
        log(`lab: ${agent.name} printed no counters: ${agent.stderr.trim().slice(-500)}`);
      }
    }
    // The agents are stopped: each link carries the reference transfer alone.
    const reference = new Map<string, number>();
    if (options.reference === true && !signal.aborted)
      for (const [index, link] of topology.ues.entries()) {
        const ue = options.ues[index];
        const rate = ue === undefined ? undefined : shaped.get(ue.id);
        if (ue === undefined || rate === undefined) continue;
        reference.set(ue.id, await referenceMbps(topology.edgeNs, link, rate));
      }
    const observations: LabObservations = {
      startedAt,
      durationMs: Math.min(options.durationS * 1000, Date.now() - startedAt),
      ues: options.ues.map((ue) => ({ ue: ue.id, localCut: modelCuts(ue.model).length - 1 })),
      shapedMbps: shaped,
      ...(options.reference === true ? { referenceMbps: reference } : {}),
      tasks,
      decisions,
      links,
      changes,
      counters,
    };
    return { report: labReport(observations), tc, removed, silent, observations };
  } finally {
    for (const child of [...children].reverse()) await stop(child, 'SIGTERM', 10_000);
    await teardown(topology);
  }
}
