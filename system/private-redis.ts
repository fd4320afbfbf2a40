/** A throw-away `redis-server` for `edgesplit up` (and the tests) when no REDIS_URL is given. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgesplitError, type ErrorOptions } from '../proto/index.js';
import { freePort, onPath, waitForPort } from './net.js';

/** What to tell a user who has no `redis-server`. */
export const REDIS_INSTALL_HINT =
  'install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) ' +
  'or point REDIS_URL at a running one, e.g. REDIS_URL=redis://127.0.0.1:6379';

export class NoRedisServerError extends EdgesplitError<'NO_REDIS_SERVER'> {
  constructor(options?: ErrorOptions) {
    super(
      'NO_REDIS_SERVER',
      `REDIS_URL is not set and there is no redis-server on PATH: ${REDIS_INSTALL_HINT}`,
      options,
    );
    this.name = 'NoRedisServerError';
  }
}

export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` from PATH on a free loopback port, persisting nothing, in a temporary
 * directory. Throws `NoRedisServerError` when there is none.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  if (!onPath('redis-server')) throw new NoRedisServerError();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'edgesplit-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child: ChildProcess = spawn('redis-server', [...args, '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 'redis-server');
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}
