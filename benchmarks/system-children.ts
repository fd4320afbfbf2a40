/**
 * Services of `npm run bench:system` run as separate processes: the built CLI
 * (`node dist/cli/main.js ...`), as deployed, and a private Mosquitto.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, onPath, startPrivateMosquitto } from '../system/index.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const CLI_SOURCE = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
/** Extra node flags for the service processes, e.g. `--cpu-prof` to profile them. */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const STOP_TIMEOUT_MS = 5000;
/** Last lines of a child's output kept for the error message when it fails. */
const KEPT_LINES = 20;

/** A process started by the benchmark. */
export interface Child {
  readonly name: string;
  /** Process ids whose CPU time the benchmark reads; empty inside the benchmark process. */
  readonly pids: readonly number[];
  /** Stops it (SIGTERM, then SIGKILL after a while); safe to call twice. */
  stop(): Promise<void>;
  /** Its last lines of output, when kept. */
  readonly lastLines?: () => readonly string[];
}

/** The environment shared by every edgesplit process of one run. */
export interface ServiceEnv {
  readonly mqttUrl: string;
  readonly redisUrl: string;
  readonly topicPrefix: string;
  readonly redisPrefix: string;
}

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
}

/** Keeps a child's last lines; reading every chunk also keeps a chatty child from blocking. */
function watch(name: string, child: ChildProcess): { lines: string[]; exited: Promise<void> } {
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - KEPT_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null)
      process.stderr.write(`${name} exited with ${code}:\n  ${lines.join('\n  ')}\n`);
  });
  return { lines, exited };
}

function stopper(child: ChildProcess, exited: Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };
}

/** More of `startCli`. */
export interface CliOptions {
  /** More environment variables for the child. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Run the TypeScript source through tsx instead of the build (no `npm run build` needed). */
  readonly fromSource?: boolean;
}

/**
 * Runs `edgesplit {args}` and resolves once a line of its output matches `ready`; rejects if
 * it exits or stays silent for `timeoutMs`.
 */
export async function startCli(
  name: string,
  args: readonly string[],
  env: ServiceEnv,
  ready: RegExp,
  timeoutMs = 15_000,
  options: CliOptions = {},
): Promise<Child> {
  if (options.fromSource !== true) assertBuilt();
  const entry = options.fromSource === true ? ['--import', 'tsx', CLI_SOURCE] : [CLI];
  const child = spawn(process.execPath, [...NODE_ARGS, ...entry, ...args], {
    env: {
      ...process.env,
      ...options.extraEnv,
      MQTT_URL: env.mqttUrl,
      REDIS_URL: env.redisUrl,
      EDGESPLIT_TOPIC_PREFIX: env.topicPrefix,
      EDGESPLIT_REDIS_PREFIX: env.redisPrefix,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { lines, exited } = watch(name, child);
  const stop = stopper(child, exited);
  try {
    await new Promise<void>((done, fail) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.stderr.off('data', check);
        if (error === undefined) done();
        else fail(error);
      };
      const timer = setTimeout(
        () => settle(new Error(`${name} not ready in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = () => {
        if (lines.some((line) => ready.test(line))) settle();
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      exited.then(() =>
        settle(new Error(`${name} exited before it was ready:\n  ${lines.join('\n  ')}`)),
      );
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const lastLines = () => [...lines];
  return { name, pids: child.pid === undefined ? [] : [child.pid], stop, lastLines };
}

/** A broker process: its URL and how to stop it. */
export interface BrokerProcess extends Child {
  readonly url: string;
  /** Whether it runs the ingress inside. */
  readonly hasIngress: boolean;
}

/** The embedded broker (aedes) with its ingress, auth off, as `edgesplit broker` runs it. */
export async function startEmbeddedBrokerProcess(
  env: Omit<ServiceEnv, 'mqttUrl'>,
): Promise<BrokerProcess> {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const args = ['broker', '--no-auth', '--host', '127.0.0.1', '--port', `${port}`];
  const ready = /ingress in the broker takes/;
  const child = await startCli('broker', args, { ...env, mqttUrl: url }, ready);
  return { ...child, url, hasIngress: true };
}

/**
 * A private Mosquitto on a free port, configured like the tests' (Nagle off, no in-flight or
 * queue limits that would throttle QoS 1 bursts).
 */
export async function startMosquitto(): Promise<BrokerProcess> {
  if (!onPath('mosquitto'))
    throw new Error(
      'mosquitto is not on PATH: apt-get install mosquitto, or use --brokers embedded',
    );
  const mosquitto = await startPrivateMosquitto({
    config: ['max_inflight_messages 0'],
    output: 'pipe',
  });
  watch('mosquitto', mosquitto.child);
  const pids = mosquitto.child.pid === undefined ? [] : [mosquitto.child.pid];
  return { name: 'mosquitto', pids, url: mosquitto.url, hasIngress: false, stop: mosquitto.stop };
}
