import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { parseTraceArg, TraceError } from '../../agents/index.js';
import { DEVICE_CLASSES, LINK_CLASSES } from '../../dnn/index.js';
import { type MetricsServer, startMetricsServer } from '../../metrics/index.js';
import { asError } from '../../runtime/as-error.js';
import { relayLine } from '../../runtime/log.js';
import { stopSignal } from '../../runtime/shutdown.js';
import { edgeMetricsSource } from '../lab/edge-metrics-source.js';
import { type LabUe, runLab } from '../lab/lab-run.js';
import { LabUnavailableError, MAX_LAB_UES } from '../lab/netns.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import { addMetricsOptions, type MetricsFlags, metricsPort } from '../metrics-options.js';
import {
  EXIT_USAGE,
  parseInteger,
  parseModels,
  parseNonNegative,
  parsePositive,
} from '../options.js';

interface LabFlags extends LogFlags, MetricsFlags {
  readonly ues: number;
  readonly duration: number;
  readonly trace?: string;
  readonly models: readonly string[];
  readonly device: string;
  readonly links: readonly string[];
  readonly uplinkMbps?: readonly number[];
  readonly downlinkMbps: number;
  readonly fixedLinks: boolean;
  readonly thinkMs: number;
  readonly batch: number;
  readonly probeInterval: number;
  readonly workers: number;
  readonly units: number;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly reference: boolean;
}

function parseMbpsList(value: string): number[] {
  return value.split(',').map((item) => parsePositive(item.trim()));
}

function parseLinkClasses(value: string): string[] {
  const known = LINK_CLASSES.map((link) => link.id);
  const classes = value.split(',').map((item) => item.trim());
  for (const name of classes)
    if (!known.includes(name))
      throw new InvalidArgumentError(
        `unknown link class "${name.slice(0, 32)}" (known: ${known.join(', ')})`,
      );
  return classes;
}

/** The UEs: models and link classes handed out round-robin, shaped at `--uplink-mbps` if given. */
function labUes(flags: LabFlags): LabUe[] {
  return Array.from({ length: flags.ues }, (_, k) => {
    const model = flags.models[k % flags.models.length] ?? 'resnet18';
    const className = flags.links[k % flags.links.length] ?? '4g';
    const link = LINK_CLASSES.find((candidate) => candidate.id === className);
    if (link === undefined) throw new Error(`unknown link class ${className}`);
    const uplinkMbps = flags.uplinkMbps?.[k % flags.uplinkMbps.length] ?? link.uplinkMbps;
    return {
      id: `ue-${String(k + 1).padStart(3, '0')}`,
      model,
      device: flags.device,
      uplinkMbps,
      downlinkMbps: flags.downlinkMbps,
      reported: { uplinkMbps: link.uplinkMbps, rttMs: link.rttMs, downlinkMbps: link.downlinkMbps },
    };
  });
}

export function registerLabCommand(program: Command): void {
  const command = program
    .command('lab')
    .description(
      'run the system on real hosts and shaped links on this machine (root): the edge in one ' +
        'network namespace, each UE in its own behind a tbf-shaped veth pair, links measured',
    )
    .option('--ues <n>', `UEs (1 to ${MAX_LAB_UES})`, parseInteger, 3)
    .option('--duration <s>', 'seconds the UEs run', parsePositive, 30)
    .option(
      '--trace <steps>',
      'uplink rates over time, every UE: steps:SECONDS=MBPS,... (tc qdisc change at each)',
    )
    .option('--models <list>', 'comma-separated zoo models, round-robin', parseModels, ['resnet18'])
    .option(
      '--device <class>',
      `device class of every UE (${DEVICE_CLASSES.map((d) => d.id).join(', ')})`,
      'rpi4-cpu',
    )
    .option(
      '--links <classes>',
      'link classes, round-robin: each UE is shaped at its class uplink (unless --uplink-mbps)',
      parseLinkClasses,
      ['4g'],
    )
    .option(
      '--uplink-mbps <list>',
      'shaped uplink per UE, round-robin (overrides the class)',
      parseMbpsList,
    )
    .option('--downlink-mbps <n>', 'shaped downlink of every UE', parsePositive, 100)
    .option(
      '--fixed-links',
      'UEs report their link class rates for ever (--link real) instead of measuring: the baseline',
      false,
    )
    .option('--think-ms <ms>', 'pause of each UE between tasks', parseNonNegative, 200)
    .option('--batch <n>', 'samples per task', parseInteger, 1)
    .option('--probe-interval <s>', 'probe a link with no traffic this long', parsePositive, 10)
    .option('--workers <n>', 'edge workers', parseInteger, 1)
    .option('--units <n>', 'units per edge worker', parseInteger, 4)
    .option(
      '--reference',
      'after the run, time a bulk TCP transfer over each shaped uplink and report it with the estimate',
      false,
    )
    .option('--json', 'print one JSON report on stdout at the end', false)
    .option('--verbose', "pass on the edge's and the agents' log lines", false);
  addMetricsOptions(addLogOptions(command)).action(runLabCommand);
}

async function runLabCommand(flags: LabFlags): Promise<void> {
  const labLog = startLogging(flags, 'lab');
  const fail = (message: string, code: number) => {
    labLog.fatal(`edgesplit lab: ${message}`);
    process.exitCode = code;
  };
  if (flags.ues < 1 || flags.ues > MAX_LAB_UES)
    return fail(`--ues must be from 1 to ${MAX_LAB_UES}`, EXIT_USAGE);
  if (!DEVICE_CLASSES.some((d) => d.id === flags.device))
    return fail(`--device: unknown device class "${flags.device}"`, EXIT_USAGE);
  if (flags.batch < 1 || flags.workers < 1 || flags.units < 1)
    return fail('--batch, --workers and --units must be >= 1', EXIT_USAGE);
  let steps: { atS: number; mbps: number }[] = [];
  if (flags.trace !== undefined) {
    try {
      const trace = parseTraceArg(flags.trace);
      if (trace.kind !== 'steps')
        throw new TraceError('the lab takes --trace steps:SECONDS=MBPS,...');
      steps = trace.steps.map((point) => ({ atS: point.atS, mbps: point.mbps }));
    } catch (error) {
      return fail(`--trace: ${asError(error).message}`, EXIT_USAGE);
    }
  }
  let port: number | undefined;
  try {
    port = metricsPort(flags);
  } catch (error) {
    return fail(asError(error).message, EXIT_USAGE);
  }
  // The edge's metrics, relayed from its namespace through a Unix socket in a private folder.
  let metrics: { server: MetricsServer; folder: string; socket: string } | undefined;
  if (port !== undefined) {
    const folder = await mkdtemp(join(tmpdir(), 'edgesplit-lab-'));
    const socket = join(folder, 'edge-metrics.sock');
    try {
      const server = await startMetricsServer(edgeMetricsSource(socket), {
        port,
        host: flags.metricsHost,
      });
      metrics = { server, folder, socket };
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      return fail(`metrics: ${asError(error).message}`, 1);
    }
    labLog.info(`edgesplit lab: metrics on ${metrics.server.url}`, { url: metrics.server.url });
  }
  try {
    await runAndReport(flags, labLog, fail, steps, metrics?.socket);
  } finally {
    if (metrics !== undefined) {
      await metrics.server.close();
      await rm(metrics.folder, { recursive: true, force: true });
    }
  }
}

async function runAndReport(
  flags: LabFlags,
  labLog: ReturnType<typeof startLogging>,
  fail: (message: string, code: number) => void,
  steps: { atS: number; mbps: number }[],
  metricsSocket: string | undefined,
): Promise<void> {
  const controller = new AbortController();
  // The report (without --json) is the command's result: plain lines on stderr, as before.
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const run = runLab({
    ues: labUes(flags),
    durationS: flags.duration,
    steps,
    fixedLinks: flags.fixedLinks,
    thinkMs: flags.thinkMs,
    batch: flags.batch,
    probeIntervalS: flags.probeInterval,
    workers: flags.workers,
    units: flags.units,
    signal: controller.signal,
    log: (line) => labLog.info(line),
    verbose: flags.verbose,
    reference: flags.reference,
    // The edge's and the agents' own log lines, at their level and with their fields.
    relay: (name, line) => relayLine(labLog.child({ source: name }), line),
    ...(metricsSocket === undefined
      ? {}
      : {
          metrics: {
            socket: metricsSocket,
            args: [
              '--metrics-per-ue',
              flags.metricsPerUe,
              '--metrics-ue-cap',
              String(flags.metricsUeCap),
            ],
          },
        }),
  });
  void stopSignal({ done: run }).then((signal) => {
    if (signal === undefined) return;
    labLog.info(`edgesplit lab: ${signal}, stopping and tearing the lab down`);
    controller.abort();
  });
  try {
    const { report, silent } = await run;
    if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      log(`requests ${report.requests}: ok ${report.ok} failed ${report.failed}`);
      for (const link of report.links)
        log(
          `${link.ue}: shaped ${link.shapedMbps} Mbps, estimated ${link.estimatedMbps ?? 'none'} Mbps` +
            (link.referenceMbps === undefined
              ? ''
              : `, bulk TCP ${link.referenceMbps ?? 'none'} Mbps`),
        );
      for (const a of report.adaptations)
        log(
          `${a.ue}: rate change at ${a.changeAtMs} ms -> new decision ${a.newDecisionAfterMs === null ? 'none' : `after ${a.newDecisionAfterMs} ms`}, cut ${a.oldCut} -> ${a.newCut}`,
        );
      const p = report.prediction;
      log(
        `prediction error p50: offloading ${p.offloadingP50 ?? 'n/a'}, local ${p.localP50 ?? 'n/a'}`,
      );
    }
    if (report.failed > 0 || silent.length > 0)
      fail(
        `${report.failed} requests lost${silent.length > 0 ? `; no counters from ${silent.join(', ')}` : ''}`,
        1,
      );
  } catch (error) {
    if (error instanceof LabUnavailableError) fail(error.message, EXIT_USAGE);
    else fail(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
  }
}
