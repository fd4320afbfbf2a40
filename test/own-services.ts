/**
 * Services a test starts for itself and tears down: a Mosquitto of its own (so that the test
 * knows its configuration), one that persists its retained messages across restarts, and a Redis Cluster of three masters created with
 * `redis-cli --cluster create`, every node on a free loopback port, persisting nothing.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from '../system/net.js';
import { startPrivateMosquitto } from '../system/private-mosquitto.js';
import { waitUntil } from './wait-until.js';

const run = promisify(execFile);

/** A child process and the directory it works in; `stop` ends the one and deletes the other. */
interface Owned {
  stop(): Promise<void>;
}

function own(child: ChildProcess, dir: string): Owned {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface OwnMosquitto {
  readonly url: string;
  stop(): Promise<void>;
}

/** A `mosquitto` of the test's own on a free loopback port, anonymous, Nagle off. */
export async function startOwnMosquitto(): Promise<OwnMosquitto> {
  const { url, stop } = await startPrivateMosquitto();
  return { url, stop };
}

/** A Mosquitto that keeps its retained messages across restarts, on one port. */
export interface PersistentMosquitto {
  readonly url: string;
  /**
   * Stops it with `signal`: SIGTERM saves everything and sends the last wills; SIGKILL, as a host
   * that loses power, sends none and keeps what its last save held (at most a second old).
   * `start` brings it up again on the same port.
   */
  down(signal: 'SIGTERM' | 'SIGKILL'): Promise<{ start(): Promise<void> }>;
  stop(): Promise<void>;
}

/**
 * A `mosquitto` of the test's own with `persistence true` (as Debian ships it), saving every
 * second: stopped and started again, it restores the sessions and retained messages it saved.
 */
export async function startPersistentMosquitto(): Promise<PersistentMosquitto> {
  const port = await freePort();
  const persistDir = mkdtempSync(join(tmpdir(), 'edgesplit-mosquitto-db-'));
  // Started as root, mosquitto drops to its own user before it saves.
  chmodSync(persistDir, 0o777);
  const start = () =>
    startPrivateMosquitto({ port, persistDir, config: ['max_inflight_messages 0'] });
  let running: Awaited<ReturnType<typeof startPrivateMosquitto>> | undefined = await start();
  const url = running.url;
  return {
    url,
    down: async (signal) => {
      const child = running?.child;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(signal);
        await exited;
      }
      await running?.stop();
      running = undefined;
      return {
        start: async () => {
          running = await start();
        },
      };
    },
    stop: async () => {
      await running?.stop();
      running = undefined;
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
}

export interface OwnCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3` */
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/**
 * Three `redis-server --cluster-enabled yes` masters on free loopback ports, joined with
 * `redis-cli --cluster create` (no replicas), resolved once every node reports every slot served.
 */
export async function startOwnCluster(masters = 3): Promise<OwnCluster> {
  const nodes: Owned[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let index = 0; index < masters; index++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'edgesplit-cluster-'));
      const args = [
        ...['--port', String(port), '--bind', '127.0.0.1'],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
        ...['--cluster-node-timeout', '5000'],
        ...['--save', '', '--appendonly', 'no', '--dir', dir],
      ];
      nodes.push(own(spawn('redis-server', args, { stdio: 'ignore' }), dir));
      ports.push(port);
      await waitForPort(port, 'redis-server (cluster node)');
    }
    await run(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-yes'],
      { timeout: 60_000 },
    );
    // `--cluster create` returns once it has assigned the slots; each node only reports
    // cluster_state:ok once gossip has told it every slot is served. A client that meets a node
    // still in `fail` retries or, connecting, waits: every node must be ok before use.
    await waitUntil('every node of the cluster to serve every slot', async () => {
      for (const port of ports) {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info'], {
          timeout: 5000,
        });
        const ok =
          /cluster_state:ok/.test(stdout) &&
          /cluster_slots_ok:16384/.test(stdout) &&
          new RegExp(`cluster_known_nodes:${masters}\\b`).test(stdout);
        if (!ok) return false;
      }
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    stop,
  };
}
