import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Makes the real services the tests need available, so `npm test` works on a machine that has
 * only the binaries: Redis from REDIS_URL, else 127.0.0.1:6379 if it answers, else a private
 * `redis-server` on a free port; Mosquitto (a second, independent broker) from MOSQUITTO_URL,
 * else a private `mosquitto` on a free port with Nagle off.
 */
const children: ChildProcess[] = [];
const dirs: string[] = [];

export async function setup(): Promise<void> {
  if (!process.env.REDIS_URL) {
    process.env.REDIS_URL = (await reachable(6379))
      ? 'redis://127.0.0.1:6379'
      : `redis://127.0.0.1:${await startRedis()}`;
  }
  if (!process.env.MOSQUITTO_URL) {
    process.env.MOSQUITTO_URL = `mqtt://127.0.0.1:${await startMosquitto()}`;
  }
}

export async function teardown(): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

async function startRedis(): Promise<number> {
  requireBinary('redis-server', 'apt-get install redis-server (or set REDIS_URL)');
  const port = await freePort();
  const dir = tempDir();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    {
      stdio: 'ignore',
    },
  );
  children.push(child);
  await waitForPort(port, 'redis-server');
  return port;
}

async function startMosquitto(): Promise<number> {
  requireBinary('mosquitto', 'apt-get install mosquitto mosquitto-clients (or set MOSQUITTO_URL)');
  const port = await freePort();
  const dir = tempDir();
  const conf = join(dir, 'mosquitto.conf');
  // [MQTT-3.1.2] the tests use persistent sessions; set_tcp_nodelay keeps small round trips < 1 ms.
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_inflight_messages 0\nmax_queued_messages 100000\n`,
  );
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  children.push(child);
  await waitForPort(port, 'mosquitto');
  return port;
}

function requireBinary(name: string, hint: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  if (!found) throw new Error(`the tests need ${name}: ${hint}`);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgesplit-test-'));
  dirs.push(dir);
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, name: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await reachable(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not start listening on port ${port}`);
}
