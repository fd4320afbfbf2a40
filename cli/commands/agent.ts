import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, Option } from 'commander';
import {
  AgentOptionsError,
  AgentStoppedError,
  type BeforeDecision,
  type LinkRates,
  linkClassRates,
  startAgent,
  type TaskResult,
  type UeAgent,
} from '../../agents/index.js';
import {
  DEVICE_CLASSES,
  LINK_CLASSES,
  listModels,
  ProfileFileError,
  ThreadedOnnxExecutor,
} from '../../dnn/index.js';
import {
  addAgentBehaviourOptions,
  mqttFromEnv,
  parseInteger,
  parseNonNegative,
  parsePositive,
  untilSignal,
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
    `retries ${task.retries} ${status}`
  );
}

interface AgentFlags {
  readonly id: string;
  readonly model: string;
  readonly device: string;
  readonly link?: string;
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

/** The link from `--link` and the explicit rates, which override the class's. */
function linkOf(flags: AgentFlags): LinkRates {
  const base = flags.link === undefined ? undefined : linkClassRates(flags.link);
  const uplinkMbps = flags.uplinkMbps ?? base?.uplinkMbps;
  if (uplinkMbps === undefined)
    throw new AgentOptionsError('link', 'give --link CLASS or --uplink-mbps N');
  const downlinkMbps = flags.downlinkMbps ?? base?.downlinkMbps;
  return {
    uplinkMbps,
    rttMs: flags.rttMs ?? base?.rttMs ?? 0,
    ...(downlinkMbps === undefined ? {} : { downlinkMbps }),
  };
}

async function runAgent(flags: AgentFlags): Promise<void> {
  let agent: UeAgent;
  let executor: ThreadedOnnxExecutor | undefined;
  try {
    const measured =
      flags.profile === undefined ? undefined : await loadProfile(flags.profile, flags.model);
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
      link: linkOf(flags),
      linkMode: flags.realLink ? 'real' : 'emulated',
      speedFactor: flags.speed,
      ...(executor === undefined ? {} : { executor }),
      thinkTimeMs: flags.thinkMs,
      requestTimeoutMs: flags.timeoutMs,
      maxRetries: flags.maxRetries,
      beforeDecision: flags.beforeDecision,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`edgesplit agent: ${message}\n`);
    await executor?.close();
    process.exitCode =
      error instanceof AgentOptionsError || error instanceof ProfileFileError ? 2 : 1;
    return;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `edgesplit agent ${agent.id} online (${flags.model} on ${flags.device}, batch ${flags.batch})`,
  );
  agent.on('task', (task) => {
    if (flags.json) {
      const { outputs: _outputs, ...rest } = task;
      process.stdout.write(`${JSON.stringify({ ue: agent.id, ...rest })}\n`);
    } else process.stdout.write(`${formatTask(agent.id, task)}\n`);
  });
  agent.on('decision', (d) =>
    log(
      `decision epoch ${d.epoch}: cut ${d.cut} (${d.cutName}) units ${d.units} predicted ${ms(d.predictedMs)} ms`,
    ),
  );
  agent.on('error', (report) => log(`error ${report.code}: ${report.message}`));
  agent.on('warning', (error) => log(`warning: ${error.message}`));
  agent.on('status', (status) => {
    if (status.type !== 'closed') log(`connection: ${status.type}`);
  });

  const counted = flags.tasks === undefined ? undefined : runCounted(agent, flags);
  if (counted === undefined) agent.start();
  const signal = await untilSignal(counted);
  if (signal !== undefined && !stdoutClosed()) log(`edgesplit agent: ${signal}, stopping`);
  await agent.stop({ graceMs: signal === undefined ? 0 : 1000 });
  await executor?.close();
  const stats = agent.counters();
  log(
    `edgesplit agent ${agent.id}: ${stats.tasks} tasks, requests ok ${stats.ok} failed ${stats.failed} retried ${stats.retried}`,
  );
}

/** `--tasks N`: N tasks, `--think-ms` apart, then exit. */
async function runCounted(agent: UeAgent, flags: AgentFlags): Promise<void> {
  for (let k = 0; k < (flags.tasks ?? 0); k++) {
    if (k > 0 && flags.thinkMs > 0) await sleep(flags.thinkMs);
    try {
      await agent.runTask();
    } catch (error) {
      if (error instanceof AgentStoppedError) return;
      process.stderr.write(`warning: ${(error as Error).message}\n`);
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
    .addOption(
      new Option('--link <class>', 'link class (rates overridable below)').choices(
        LINK_CLASSES.map((l) => l.id),
      ),
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
    .option('--json', 'one JSON line per task on stdout', false)
    .action(runAgent);
}
