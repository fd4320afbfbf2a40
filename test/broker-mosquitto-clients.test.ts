/**
 * The broker as users run it (`edgesplit broker`, a credentials file written by `broker add-user`)
 * against the real Mosquitto command-line clients.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, upsertUser } from '../broker/index.js';
import { logMessages, logRecords, messageText } from './log-lines.js';
import { missingTools, titled } from './tools.js';
import { WAIT_MS } from './wait-until.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Why these tests cannot run here (fails under CI instead): the clients and stdbuf. */
const missing = missingTools('mosquitto_pub', 'mosquitto_sub', 'stdbuf');
const P = 'edgesplit/v1';
const dir = mkdtempSync(join(tmpdir(), 'edgesplit-broker-mosquitto-'));
const credentials = join(dir, 'credentials.json');
const password = (user: string) => `pw-of-${user}`;

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

/** A running process whose output is collected as it comes. */
function start(command: string, args: readonly string[], input?: string) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    out.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  if (input !== undefined) child.stdin.end(input);
  const done = new Promise<Run>((resolve) => {
    child.on('close', (code) => resolve({ code, ...out }));
  });
  return { child, out, done };
}

function run(command: string, args: readonly string[], input?: string): Promise<Run> {
  return start(command, args, input).done;
}

const cli = (args: readonly string[], input?: string) =>
  run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], input);

async function until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let broker: { child: ChildProcess; out: { stdout: string; stderr: string }; done: Promise<Run> };
let port = 0;

const auth = (user: string, secret = password(user)) => [
  '-h',
  '127.0.0.1',
  '-p',
  String(port),
  '-u',
  user,
  '-P',
  secret,
  '-V',
  'mqttv311',
];

/** mosquitto_sub, once its SUBACK has arrived (line-buffered: its stdout is a pipe). */
async function subscriber(user: string, filters: readonly string[]) {
  const args = [...auth(user), '-q', '1', '-v', '-d', ...filters.flatMap((f) => ['-t', f])];
  const sub = start('stdbuf', ['-oL', 'mosquitto_sub', ...args]);
  await until(() => sub.out.stdout.includes('Subscribed (mid:'), 'the SUBACK');
  return sub;
}

const pub = (user: string, topic: string, message: string) =>
  run('mosquitto_pub', [...auth(user), '-q', '1', '-t', topic, '-m', message]);

beforeAll(async () => {
  if (missing !== undefined) return;
  const added = await cli(
    [
      'broker',
      'add-user',
      '--file',
      credentials,
      '--username',
      'ue-1',
      '--role',
      'ue',
      '--ue',
      'ue-1',
    ],
    `${password('ue-1')}\n`,
  );
  expect(added.stderr).toContain('added user ue-1');
  const hashed = await cli(['broker', 'hash-password'], password('sched'));
  expect(hashed.stdout).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);
  await upsertUser(credentials, {
    username: 'sched',
    role: 'scheduler',
    passwordHash: hashed.stdout.trim(),
  });
  const cheap = { N: 1024, r: 8, p: 1 };
  await upsertUser(credentials, {
    username: 'ue-2',
    role: 'ue',
    ue: 'ue-2',
    passwordHash: await hashPassword(password('ue-2'), cheap),
  });
  await upsertUser(credentials, {
    username: 'worker-1',
    role: 'edge',
    passwordHash: await hashPassword(password('worker-1'), cheap),
  });

  broker = start(process.execPath, [
    '--import',
    'tsx',
    'cli/main.ts',
    'broker',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--credentials',
    credentials,
    '--no-ingress',
  ]);
  const listening = () =>
    logRecords(broker.out.stderr).find((line) =>
      /listening on mqtt:\/\/127\.0\.0\.1:\d+/.test(line.msg),
    );
  await until(() => listening() !== undefined, 'the broker');
  port = Number(listening()?.port);
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)(
  titled('edgesplit broker with the Mosquitto clients', missing),
  () => {
    it("stops a UE publishing another UE's link: the subscribed scheduler never gets it", async () => {
      const scheduler = await subscriber('sched', [`${P}/ue/+/link`]);
      const forged = await pub('ue-1', `${P}/ue/ue-2/link`, 'forged');
      expect(forged.code).not.toBe(0);
      const genuine = await pub('ue-1', `${P}/ue/ue-1/link`, 'genuine');
      expect(genuine.code).toBe(0);
      await until(
        () => scheduler.out.stdout.includes(`${P}/ue/ue-1/link genuine`),
        'the genuine link',
      );
      scheduler.child.kill();
      await scheduler.done;
      expect(scheduler.out.stdout).not.toContain('forged');
      expect(messageText(broker.out.stderr)).toMatch(
        /refused publish: .*username="ue-1" topic=".*ue-2\/link"/,
      );
      expect(logRecords(broker.out.stderr)).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          component: 'broker',
          refused: 'publish',
          username: 'ue-1',
          topic: `${P}/ue/ue-2/link`,
        }),
      );
    });

    it("stops a UE reading another UE's results, published by the edge role", async () => {
      const ue = await subscriber('ue-1', [`${P}/ue/ue-1/result`, `${P}/ue/ue-2/result`]);
      // One SUBACK, the own topic granted QoS 1 and the other UE's refused (0x80).
      expect(ue.out.stdout).toMatch(/Subscribed \(mid: \d+\): 1, 128/);
      expect((await pub('worker-1', `${P}/ue/ue-2/result`, 'theirs')).code).toBe(0);
      expect((await pub('worker-1', `${P}/ue/ue-1/result`, 'ours')).code).toBe(0);
      await until(() => ue.out.stdout.includes(`${P}/ue/ue-1/result ours`), 'its own result');
      ue.child.kill();
      await ue.done;
      expect(ue.out.stdout).not.toContain('theirs');

      const everything = await run('mosquitto_sub', [
        ...auth('ue-1'),
        '-t',
        '#',
        '-q',
        '1',
        '-W',
        '60',
      ]);
      expect(everything.stderr).toContain('All subscription requests were denied');
    });

    it('refuses a wrong password', async () => {
      const topic = `${P}/ue/ue-1/link`;
      const wrong = await run('mosquitto_pub', [...auth('ue-1', 'wrong'), '-t', topic, '-m', 'x']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/bad user name or password/i);
      const sub = await run('mosquitto_sub', [
        ...auth('sched', 'nope'),
        '-t',
        `${P}/ue/+/link`,
        '-W',
        '60',
      ]);
      expect(sub.code).not.toBe(0);
      expect(sub.stderr).toMatch(/bad user name or password/i);
      expect(messageText(broker.out.stderr)).toMatch(
        /refused connect: .*username="sched".*bad username or password/,
      );
    });

    it('closes cleanly on SIGTERM', async () => {
      broker.child.kill('SIGTERM');
      const { code, stderr } = await broker.done;
      expect(logMessages(stderr)).toContain('edgesplit broker: SIGTERM, closing');
      expect(code).toBe(0);
    });
  },
);
