import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  AgentOptionsError,
  AgentStoppedError,
  type BeforeDecision,
  LINK_MODES,
  type LinkMode,
  type LinkRates,
  linkClassRates,
  startAgent,
  type TaskResult,
  type UeAgent,
} from '../../agents/index.js';
import { DEVICE_CLASSES, LINK_CLASSES, listModels, ThreadedOnnxExecutor } from '../../dnn/index.js';
import { agentMetrics } from '../../metrics/index.js';
import { asError } from '../../runtime/as-error.js';
import type { Logger } from '../../runtime/log.js';
import { logText } from '../../runtime/log-text.js';
import { stopSignal } from '../../runtime/shutdown.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import {
  addMetricsOptions,
  type MetricsFlags,
  type ServedMetrics,
  serveMetrics,
} from '../metrics-options.js';
import {
  addAgentBehaviourOptions,
  exitCodeOf,
  mqttFromEnv,
  parseInteger,
  parseNonNegative,
  parsePositive,
} from '../options.js';
import { deviceCutsOf, headTimeOf, loadProfile } from '../profiles.js';
import { stdoutClosed } from '../stdout-epipe.js';

const ms = (value: number) => value.toFixed(1);

/** One line per task. */
export function formatTask(ue: string, task: TaskResult): string {
  const epoch = task.epoch === null ? 'none' : String(task.epoch);
  const status = task.ok ? 'ok' : `${task.failures.length} failed`;
  return (
    `${ue} task ${task.task}: epoch ${epoch} cut ${task.cut} (${task.cutName}) units ${task.units} ` +
    `predicted ${ms(task.predictedMs)} ms measured ${ms(task.measuredMs)} ms ` +
    `retries ${task.retries} ${status}${task.fallback === true ? ' (tail on the device: upload late)' : ''}`
  );
}

interface AgentFlags extends LogFlags, MetricsFlags {
  readonly id: string;
  readonly statsIntervalS: number;
  readonly model: string;
  readonly device: string;
  readonly link: readonly string[];
  readonly probeInterval: number;
  readonly linkInterval: number;
  readonly localFallback: boolean;
  readonly linkHysteresis: number;
  readonly uplinkMbps?: number;
  readonly rttMs?: number;
  readonly downlinkMbps?: number;
  readonly batch: number;
  readonly thinkMs: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly speed: number;
  readonly realLink: boolean;
  readonly beforeDecision: BeforeDecision;
  readonly tasks?: number;
  readonly json: boolean;
  readonly executor: 'emulated' | 'onnx';
  readonly profile?: string;
}

const isLinkMode = (value: string): value is LinkMode =>
  (LINK_MODES as readonly string[]).includes(value);

/** The link mode from `--link` (a mode among its values) and `--real-link`; `measure` by default. */
function linkModeOf(flags: AgentFlags): LinkMode {
  const modes = flags.link.filter(isLinkMode);
  if (modes.length > 1)
    throw new AgentOptionsError('link', `give one mode, not ${modes.join(' and ')}`);
  if (flags.realLink && modes.length > 0 && modes[0] !== 'real')
    throw new AgentOptionsError('link', `--real-link contradicts --link ${modes[0]}`);
  return flags.realLink ? 'real' : (modes[0] ?? 'measure');
}

/**
 * The link from `--link CLASS` and the explicit rates, which override the class's; none when
 * measuring without a starting point.
 */
function linkOf(flags: AgentFlags, mode: LinkMode): LinkRates | undefined {
  const classes = flags.link.filter((value) => !isLinkMode(value));
  if (classes.length > 1)
    throw new AgentOptionsError('link', `give one link class, not ${classes.join(' and ')}`);
  const base = classes[0] === undefined ? undefined : linkClassRates(classes[0]);
  const uplinkMbps = flags.uplinkMbps ?? base?.uplinkMbps;
  if (uplinkMbps === undefined) {
    if (mode === 'measure') return undefined;
    throw new AgentOptionsError('link', 'give --link CLASS or --uplink-mbps N');
  }
  const downlinkMbps = flags.downlinkMbps ?? base?.downlinkMbps;
  return {
    uplinkMbps,
    rttMs: flags.rttMs ?? base?.rttMs ?? 0,
    ...(downlinkMbps === undefined ? {} : { downlinkMbps }),
  };
}

async function runAgent(flags: AgentFlags): Promise<void> {
  const log = startLogging(flags, 'agent', { ueId: flags.id });
  let agent: UeAgent;
  let executor: ThreadedOnnxExecutor | undefined;
  let served: ServedMetrics | undefined;
  try {
    served = await serveMetrics(flags, `edgesplit agent ${flags.id}`, log);
    const measured =
      flags.profile === undefined ? undefined : await loadProfile(flags.profile, flags.model);
    const linkMode = linkModeOf(flags);
    const link = linkOf(flags, linkMode);
    // One device: one inference at a time, off the thread that speaks MQTT.
    if (flags.executor === 'onnx')
      executor = new ThreadedOnnxExecutor({
        workers: 1,
        ...(measured === undefined ? {} : { targetMs: headTimeOf(measured.cuts) }),
      });
    agent = await startAgent({
      ...mqttFromEnv(),
      id: flags.id,
      model: flags.model,
      ...(measured === undefined ? { device: flags.device } : { profile: deviceCutsOf(measured) }),
      batch: flags.batch,
      ...(link === undefined ? {} : { link }),
      linkMode,
      probeIntervalMs: flags.probeInterval * 1000,
      linkIntervalMs: flags.linkInterval * 1000,
      localFallback: flags.localFallback,
      linkHysteresis: flags.linkHysteresis,
      speedFactor: flags.speed,
      ...(executor === undefined ? {} : { executor }),
      thinkTimeMs: flags.thinkMs,
      requestTimeoutMs: flags.timeoutMs,
      maxRetries: flags.maxRetries,
      beforeDecision: flags.beforeDecision,
      statsIntervalMs: flags.statsIntervalS * 1000,
    });
  } catch (error) {
    const message = asError(error).message;
    log.fatal(`edgesplit agent: ${message}`);
    await executor?.close();
    await served?.close();
    process.exitCode = exitCodeOf(error);
    return;
  }
  if (served !== undefined) agentMetrics(served.metrics).add(agent);
  log.info(
    `edgesplit agent ${agent.id} online (${flags.model} on ${flags.device}, batch ${flags.batch})`,
    { model: flags.model, device: flags.device, batch: flags.batch },
  );
  agent.on('task', (task) => {
    if (flags.json) {
      const { outputs: _outputs, ...rest } = task;
      process.stdout.write(`${JSON.stringify({ ue: agent.id, ...rest })}\n`);
    } else process.stdout.write(`${formatTask(agent.id, task)}\n`);
  });
  agent.on('decision', (d) => {
    if (flags.json)
      process.stdout.write(`${JSON.stringify({ ue: agent.id, decision: d, at: Date.now() })}\n`);
    log.info(
      `decision epoch ${d.epoch}: cut ${d.cut} (${d.cutName}) units ${d.units} predicted ${ms(d.predictedMs)} ms`,
      { epoch: d.epoch, cut: d.cut, units: d.units, predictedMs: d.predictedMs },
    );
  });
  agent.on('link', (link) => {
    if (flags.json)
      process.stdout.write(`${JSON.stringify({ ue: agent.id, link, at: Date.now() })}\n`);
    else
      log.info(
        `link measured: uplink ${link.uplinkMbps} Mbps, rtt ${link.rttMs} ms` +
          `${link.downlinkMbps === undefined ? '' : `, downlink ${link.downlinkMbps} Mbps`}` +
          ` (samples ${JSON.stringify(link.samples)})`,
      );
  });
  // The edge's error report: its message may quote what the UE sent, so it stays quoted.
  agent.on('error', (report) =>
    log.warn(`error ${report.code}: ${logText(report.message)}`, { code: report.code }),
  );
  agent.on('warning', (error) => log.warn(`warning: ${error.message}`));
  agent.on('status', (status) => {
    if (status.type !== 'closed') log.info(`connection: ${status.type}`);
  });

  const counted = flags.tasks === undefined ? undefined : runCounted(agent, flags, log);
  if (counted === undefined) agent.start();
  const signal = await stopSignal({ done: counted });
  if (signal !== undefined && !stdoutClosed()) log.info(`edgesplit agent: ${signal}, stopping`);
  await agent.stop({ graceMs: signal === undefined ? 0 : 1000 });
  await executor?.close();
  await served?.close();
  const stats = agent.counters();
  log.info(
    `edgesplit agent ${agent.id}: ${stats.tasks} tasks, requests ok ${stats.ok} failed ${stats.failed} retried ${stats.retried}`,
    { tasks: stats.tasks, ok: stats.ok, failed: stats.failed, retried: stats.retried },
  );
}

/** One `--link` value: a mode or a link class. */
function collectLinkValue(value: string, previous: readonly string[]): string[] {
  const classes = LINK_CLASSES.map((l) => l.id);
  if (!isLinkMode(value) && !classes.includes(value))
    throw new InvalidArgumentError(
      `"${value.slice(0, 32)}" is neither a mode (${LINK_MODES.join(', ')}) nor a link class (${classes.join(', ')})`,
    );
  return [...previous, value];
}

/** `--tasks N`: N tasks, `--think-ms` apart, then exit. */
async function runCounted(agent: UeAgent, flags: AgentFlags, log: Logger): Promise<void> {
  for (let k = 0; k < (flags.tasks ?? 0); k++) {
    if (k > 0 && flags.thinkMs > 0) await sleep(flags.thinkMs);
    try {
      await agent.runTask();
    } catch (error) {
      if (error instanceof AgentStoppedError) return;
      log.warn(`warning: ${asError(error).message}`);
      process.exitCode = 1;
      return;
    }
  }
}

/**
 * `edgesplit agent`: one UE agent from flags; the broker and credentials come from MQTT_URL,
 * MQTT_USERNAME, MQTT_PASSWORD and EDGESPLIT_TOPIC_PREFIX. SIGINT and SIGTERM stop it cleanly
 * (retained `offline` status, then disconnect).
 */
export function registerAgentCommand(program: Command): void {
  const agent = program
    .command('agent')
    .description('run one UE agent: announce, follow decisions, run heads, offload tails')
    .requiredOption('--id <id>', 'UE id (1-64 characters of [A-Za-z0-9._-])')
    .requiredOption('--model <name>', `zoo model (${listModels().join(', ')})`)
    .addOption(
      new Option('--device <class>', 'device class')
        .choices(DEVICE_CLASSES.map((d) => d.id))
        .default('rpi4-cpu'),
    )
    .option(
      '--profile <file>',
      'measured profile (edgesplit profile) instead of the device class; with --executor onnx ' +
        "each head then takes the profile's (slowed-down) device time",
    )
    .option(
      '--link <mode-or-class>',
      `how the link is known, and/or a link class to start from (rates overridable below); ` +
        `modes: measure (default: timed from this agent's own traffic and probes), emulated ` +
        `(transfer times slept from the rates), real (rates reported as given); classes: ` +
        `${LINK_CLASSES.map((l) => l.id).join(', ')}; may be given twice (--link measure --link 4g)`,
      collectLinkValue,
      [],
    )
    .option(
      '--probe-interval <s>',
      'measure: probe the uplink when nothing was timed for this long',
      parsePositive,
      10,
    )
    .option(
      '--link-interval <s>',
      'measure: publish the link at most this often',
      parseNonNegative,
      1,
    )
    .option(
      '--no-local-fallback',
      'measure: never run the tail of a task on the device when its upload runs late',
    )
    .option(
      '--link-hysteresis <fraction>',
      "measure: publish when the estimate moved this much (the scheduler's --hysteresis)",
      parseNonNegative,
      0.1,
    )
    .option('--uplink-mbps <n>', 'uplink bandwidth, Mbps', parsePositive)
    .option('--rtt-ms <ms>', 'round-trip time to the edge', parseNonNegative)
    .option('--downlink-mbps <n>', 'downlink bandwidth, Mbps (default: unlimited)', parsePositive)
    .option('--batch <n>', 'samples per task', parseInteger, 1)
    .option('--think-ms <ms>', 'pause between tasks', parseNonNegative, 0)
    .option('--speed <factor>', 'multiplies the device times of the profile', parseNonNegative, 1);
  addAgentBehaviourOptions(agent)
    .option('--tasks <n>', 'run this many tasks, then exit (default: until SIGINT)', parseInteger)
    .addOption(
      new Option('--executor <kind>', 'head executor: emulated (sleep the profile) or onnx')
        .choices(['emulated', 'onnx'])
        .default('emulated'),
    )
    .option(
      '--stats-interval-s <s>',
      'publish ue/{id}/stats (measured latency, for the dashboard) this often; 0: never',
      parseNonNegative,
      2,
    )
    .option('--json', 'one JSON line per task on stdout', false);
  addMetricsOptions(addLogOptions(agent)).action(runAgent);
}
