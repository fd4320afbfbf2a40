/**
 * A throw-away `mosquitto` on a free loopback port, anonymous, Nagle off, persisting nothing,
 * in a temporary directory: the second broker of the tests and of the benchmarks. Given a port
 * and a persistence directory, it is a broker that restarts with its retained messages.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgesplitError } from '../proto/index.js';
import { freePort, onPath, waitForPort } from './net.js';

export interface PrivateMosquittoOptions {
  /** More lines of mosquitto.conf (e.g. `max_inflight_messages 0`). */
  readonly config?: readonly string[];
  /** Its stdout and stderr: `pipe` to read them from `child`. @defaultValue `ignore` */
  readonly output?: 'ignore' | 'pipe';
  /** How long it may take to listen. @defaultValue 30 s */
  readonly startupMs?: number;
  /** The loopback port to listen on (to start it again where it was). @defaultValue a free one */
  readonly port?: number;
  /**
   * Keep retained messages and sessions in this directory (the caller's: `stop` leaves it),
   * saved on a clean stop and every second, as a broker with `persistence true` does.
   * @defaultValue nothing persisted
   */
  readonly persistDir?: string;
}

export interface PrivateMosquitto {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Stops it (SIGTERM) and deletes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `mosquitto` from PATH; throws an `EdgesplitError` (`NO_MOSQUITTO`), saying how to
 * install it, when there is none.
 */
export async function startPrivateMosquitto(
  options: PrivateMosquittoOptions = {},
): Promise<PrivateMosquitto> {
  if (!onPath('mosquitto'))
    throw new EdgesplitError(
      'NO_MOSQUITTO',
      'mosquitto is not on PATH (Debian/Ubuntu: sudo apt-get install mosquitto)',
    );
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'edgesplit-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Small round trips stay under a millisecond.
    'set_tcp_nodelay true',
    'max_queued_messages 100000',
    ...(options.persistDir === undefined
      ? ['persistence false']
      : [
          'persistence true',
          `persistence_location ${options.persistDir.endsWith('/') ? options.persistDir : `${options.persistDir}/`}`,
          'autosave_interval 1',
        ]),
    ...(options.config ?? []),
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const output = options.output ?? 'ignore';
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', output, output] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  try {
    await waitForPort(port, 'mosquitto', options.startupMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `mqtt://127.0.0.1:${port}`, port, child, stop };
}
