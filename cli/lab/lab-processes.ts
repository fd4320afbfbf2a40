/**
 * The processes of `edgesplit lab` (lab-run.ts): each started in a network namespace with its
 * stdout followed line by line and the tail of its stderr kept, stopped with a signal and then
 * SIGKILL, waited for until ready; and the relay of the edge's metrics to a Unix socket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LAB_EDGE_METRICS_PORT } from './edge-metrics-source.js';

/** A process the lab started, and the tail of what it wrote on stderr. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<void>;
  stderr: string;
}

/** The command that runs this CLI again (in a namespace). */
export function selfCommand(): string[] {
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell which script runs this CLI');
  return [process.execPath, ...process.execArgv, script];
}

/**
 * Starts `command` in the namespace `ns` as `name`: `onLine` gets each line of its stdout, `echo`
 * (if given) each line of its stderr.
 */
export function startIn(
  ns: string,
  name: string,
  command: readonly string[],
  env: NodeJS.ProcessEnv,
  onLine: (line: string) => void,
  echo?: (name: string, line: string) => void,
): Child {
  const child = spawn('ip', ['netns', 'exec', ns, ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const handle: Child = {
    name,
    process: child,
    exited: new Promise((resolve) => child.once('close', () => resolve())),
    stderr: '',
  };
  child.on('error', () => {});
  if (child.stdout !== null) createInterface({ input: child.stdout }).on('line', onLine);
  if (echo !== undefined && child.stderr !== null)
    createInterface({ input: child.stderr }).on('line', (line) => echo(name, line));
  child.stderr?.on('data', (chunk: Buffer) => {
    // The tail is enough: the counters line and any error.
    handle.stderr = (handle.stderr + chunk.toString()).slice(-16_384);
  });
  return handle;
}

/** Sends `signal` to `child`, and SIGKILL if it has not exited `waitMs` later. */
export async function stop(child: Child, signal: NodeJS.Signals, waitMs: number): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill(signal);
  const timer = new AbortController();
  await Promise.race([
    child.exited,
    sleep(waitMs, undefined, { signal: timer.signal }).catch(() => {}),
  ]);
  timer.abort();
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill('SIGKILL');
    await child.exited;
  }
}

/** The command that runs metrics-relay in a namespace, with this process's Node.js and loader. */
function relayCommand(): string[] {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const script = fileURLToPath(new URL(`./metrics-relay.${extension}`, import.meta.url));
  return [process.execPath, ...process.execArgv, script];
}

/** Resolves once `predicate` holds, checking every 50 ms; rejects after `timeoutMs` or on abort. */
export async function until(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
  signal: AbortSignal,
) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (signal.aborted) throw new Error('stopped');
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

/**
 * Starts metrics-relay in the edge namespace `ns`, relaying the edge's metrics port to the Unix
 * socket `socket`; `started` takes the child at once (to stop it whatever happens). Resolves once
 * it relays; rejects when it exits first, after 30 s, or on abort.
 */
export async function startMetricsRelay(
  ns: string,
  socket: string,
  signal: AbortSignal,
  started: (relay: Child) => void,
): Promise<Child> {
  let relaying = false;
  const relay = startIn(
    ns,
    'metrics-relay',
    [...relayCommand(), socket, String(LAB_EDGE_METRICS_PORT)],
    {},
    (line) => {
      if (line === 'relaying') relaying = true;
    },
  );
  started(relay);
  await until(
    () => relaying || relay.process.exitCode !== null,
    30_000,
    'the metrics relay did not start',
    signal,
  );
  if (!relaying) throw new Error(`the metrics relay exited: ${relay.stderr.trim()}`);
  return relay;
}
