import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, onPath, reachable, waitForPort } from '../system/net.js';
import { type PrivateRedis, startPrivateRedis } from '../system/private-redis.js';
import { inCi } from './tools.js';

/**
 * Makes the real services available to the tests that need them (vitest.config.ts's `services`
 * project; pure tests run without any): Redis from REDIS_URL, else 127.0.0.1:6379 if it answers,
 * else a private `redis-server` on a free port; Mosquitto (a second, independent broker) from
 * MOSQUITTO_URL, else a private `mosquitto` on a free port with Nagle off. Without a mosquitto
 * binary, CI=true fails here; elsewhere the tests on Mosquitto are skipped, saying why.
 */
const children: ChildProcess[] = [];
const dirs: string[] = [];
let redis: PrivateRedis | undefined;

/** Start-up is only waited for: generous, it costs time only when a service never comes up. */
const STARTUP_MS = 60_000;

export async function setup(): Promise<void> {
  if (!process.env.REDIS_URL) {
    if (await reachable(6379)) process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    else {
      redis = await startPrivateRedis();
      process.env.REDIS_URL = redis.url;
    }
  }
  if (!process.env.MOSQUITTO_URL) {
    if (onPath('mosquitto'))
      process.env.MOSQUITTO_URL = `mqtt://127.0.0.1:${await startMosquitto()}`;
    else {
      const reason =
        'no mosquitto on PATH: apt-get install mosquitto mosquitto-clients (or set MOSQUITTO_URL)';
      if (inCi()) throw new Error(`CI=true and ${reason}`);
      process.stderr.write(`tests on Mosquitto will be skipped: ${reason}\n`);
      process.env.EDGESPLIT_NO_MOSQUITTO = reason;
    }
  }
}

export async function teardown(): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await redis?.stop();
}

async function startMosquitto(): Promise<number> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'edgesplit-test-'));
  dirs.push(dir);
  const conf = join(dir, 'mosquitto.conf');
  // The tests use persistent sessions; set_tcp_nodelay keeps small round trips under 1 ms.
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_inflight_messages 0\nmax_queued_messages 100000\n`,
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  children.push(child);
  await waitForPort(port, 'mosquitto', STARTUP_MS);
  return port;
}
