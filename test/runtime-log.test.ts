import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { RefusalLog } from '../broker/log.js';
import { defined } from '../runtime/defined.js';
import {
  createLogger,
  type LoggerOptions,
  LogOptionError,
  logFormatFromEnv,
  logLevelFromEnv,
  readableLine,
  relayLine,
} from '../runtime/log.js';
import { logText } from '../runtime/log-text.js';
import { freePort } from '../system/net.js';
import { type LogRecord, logRecords, parseLogLine } from './log-lines.js';
import { waitUntil } from './wait-until.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A logger writing into an array, as a process whose stderr is a pipe (not a terminal). */
function capture(options: Omit<LoggerOptions, 'destination'> = {}) {
  const lines: string[] = [];
  const log = createLogger({
    isTty: false,
    ...options,
    destination: { write: (line: string) => lines.push(line) },
  });
  const records = () => lines.map((line) => JSON.parse(line) as LogRecord);
  return { lines, log, records };
}

/** Text from the network that tries to end its line and forge another, or a field. */
const HOSTILE =
  'ue-1\n{"level":"fatal","time":"x","component":"scheduler","msg":"forged"}\r\u001b[2J';

describe('the logger off a terminal', () => {
  it('writes one JSON object per line with level, time, component and the UE or worker id', () => {
    const { lines, log, records } = capture();
    log.child({ component: 'agent', ueId: 'cam-1' }).info('online', { batch: 2 });
    log.child({ component: 'edge-worker', workerId: 'edge-1' }).warn('slow');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
    }
    const [agent, worker] = records();
    expect(agent).toMatchObject({
      level: 'info',
      component: 'agent',
      ueId: 'cam-1',
      batch: 2,
      msg: 'online',
      pid: process.pid,
    });
    const { time } = defined(agent, 'the agent line');
    expect(new Date(time).toISOString()).toBe(time);
    expect(worker).toMatchObject({ level: 'warn', component: 'edge-worker', workerId: 'edge-1' });
  });

  it('writes only lines at or above its level', () => {
    const { log, records } = capture({ level: 'warn' });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(records().map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'w'],
      ['error', 'e'],
    ]);
    expect(log.enabled('info')).toBe(false);
    expect(log.enabled('error')).toBe(true);
    const silent = capture({ level: 'silent' });
    silent.log.fatal('f');
    expect(silent.lines).toEqual([]);
  });

  it('keeps network text in its line and field: no second line, no forged field', () => {
    const { lines, log, records } = capture();
    const broker = log.child({ component: 'broker' });
    // In the message through logText, as the components do, and as a field.
    broker.warn(`rejected request on ${logText(HOSTILE)}`, { ueId: HOSTILE, topic: HOSTILE });
    // A message quoting a payload with printf directives and no logText.
    broker.info('payload %s %d %j {"level":"fatal"}\n');
    expect(lines).toHaveLength(2);
    expect(lines.join('').split('\n')).toHaveLength(3); // two lines and the empty rest
    const [warned, informed] = records();
    expect(warned).toMatchObject({ level: 'warn', component: 'broker', ueId: HOSTILE });
    expect(warned?.msg).toBe(`rejected request on ${JSON.stringify(HOSTILE)}`);
    expect(informed).toMatchObject({ level: 'info', msg: 'payload %s %d %j {"level":"fatal"}\n' });
    for (const line of lines) for (const char of ['\r', '\u001b']) expect(line).not.toContain(char);
  });

  it("a field named like pino's own cannot replace them, and a key given again appears once", () => {
    const { lines, log, records } = capture();
    log
      .child({ component: 'up' })
      .child({ component: 'fleet' })
      .info('m', { level: 'fatal', time: 'then', msg: 'forged', ueId: 'a', component: 'agent' });
    const record = defined(records()[0], 'the line');
    expect(record).toMatchObject({
      level: 'info',
      msg: 'm',
      level_: 'fatal',
      time_: 'then',
      msg_: 'forged',
      component: 'agent',
      ueId: 'a',
    });
    expect(lines[0]?.match(/"component":/g)).toHaveLength(1);
    expect(lines[0]?.match(/"level":/g)).toHaveLength(1);
  });

  it('a RefusalLog line carries who was refused as fields, quoted in the message', () => {
    const { log, records } = capture();
    const refusals = new RefusalLog(log.child({ component: 'broker' }));
    refusals.record({
      kind: 'publish',
      clientId: HOSTILE,
      username: 'ue-1',
      topic: 'es/ue/ue-2/link',
      reason: 'not allowed',
    });
    const [line] = records();
    expect(line).toMatchObject({
      level: 'warn',
      component: 'broker',
      refused: 'publish',
      clientId: HOSTILE,
      username: 'ue-1',
      topic: 'es/ue/ue-2/link',
    });
    expect(line?.msg).toContain(`client=${JSON.stringify(HOSTILE)}`);
  });
});

describe('the logger on a terminal', () => {
  it('writes readable lines: time, level, component, ids, message, fields', () => {
    const { lines, log } = capture({ isTty: true, color: false });
    log
      .child({ component: 'agent', ueId: 'cam-1' })
      .info('online', { batch: 2, model: 'tiny-cnn' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}agent ueId=cam-1 online batch=2 model=tiny-cnn\n$/,
    );
  });

  it('escapes control characters and quotes any field that is not a plain word', () => {
    const { lines, log } = capture({ isTty: true, color: false });
    log.child({ component: 'broker' }).warn(`rejected ${HOSTILE}`, { ueId: HOSTILE, n: 3 });
    expect(lines).toHaveLength(1);
    const line = defined(lines[0], 'the line');
    expect(line.indexOf('\n')).toBe(line.length - 1);
    for (const char of ['\r', '\u001b']) expect(line).not.toContain(char);
    expect(line).toContain(`ueId=${JSON.stringify(HOSTILE)}`);
    expect(line).toContain('rejected ue-1\\n{"level"');
    expect(line).toContain('\\r\\u001b[2J');
  });

  it('colours the level only when asked', () => {
    const record = { level: 'error', time: '2026-01-01T00:00:00.000Z', msg: 'm' };
    expect(readableLine(record, true)).toContain('\u001b[31mERROR\u001b[0m');
    expect(readableLine(record, false)).toBe('2026-01-01T00:00:00.000Z ERROR m\n');
  });

  it('EDGESPLIT_LOG_FORMAT=json gives JSON lines on a terminal', () => {
    const { records } = (() => {
      const captured = capture({ isTty: true, format: 'json' });
      captured.log.info('x');
      return captured;
    })();
    expect(records()[0]).toMatchObject({ level: 'info', msg: 'x' });
  });
});

describe('log settings from the environment', () => {
  it('reads EDGESPLIT_LOG_LEVEL and EDGESPLIT_LOG_FORMAT, refusing other values', () => {
    expect(logLevelFromEnv({ EDGESPLIT_LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevelFromEnv({ EDGESPLIT_LOG_LEVEL: '' })).toBeUndefined();
    expect(logLevelFromEnv({})).toBeUndefined();
    expect(() => logLevelFromEnv({ EDGESPLIT_LOG_LEVEL: 'loud' })).toThrow(LogOptionError);
    expect(() => logLevelFromEnv({ EDGESPLIT_LOG_LEVEL: 'loud' })).toThrow(/EDGESPLIT_LOG_LEVEL/);
    expect(logFormatFromEnv({ EDGESPLIT_LOG_FORMAT: 'text' })).toBe('text');
    expect(() => logFormatFromEnv({ EDGESPLIT_LOG_FORMAT: 'xml' })).toThrow(LogOptionError);
  });
});

describe("relaying a child's log lines", () => {
  it('keeps their level, message and fields, and quotes lines that are not ours', () => {
    const { log, records } = capture();
    const lab = log.child({ component: 'lab', source: 'ue-001' });
    relayLine(
      lab,
      JSON.stringify({
        level: 'warn',
        time: 't',
        pid: 7,
        hostname: 'h',
        component: 'agent',
        ueId: 'ue-001',
        msg: 'slow',
      }),
    );
    relayLine(lab, `not json\n{"level":"fatal"}`);
    const [relayed, raw] = records();
    expect(relayed).toMatchObject({
      level: 'warn',
      component: 'lab',
      source: 'ue-001',
      childComponent: 'agent',
      ueId: 'ue-001',
      childPid: 7,
      msg: 'slow',
    });
    expect(raw).toMatchObject({
      level: 'info',
      msg: `output: ${JSON.stringify('not json\n{"level":"fatal"}')}`,
    });
  });
});

describe('edgesplit broker writing to a pipe', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  /** `edgesplit broker` from source (no build needed), authentication on, nothing of Redis. */
  async function startBroker(env: NodeJS.ProcessEnv, args: readonly string[] = []) {
    const port = await freePort();
    const output = { stdout: '', stderr: '' };
    child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', 'cli/main.ts', 'broker', '--host', '127.0.0.1'],
        ...['--port', String(port), '--no-ingress', '--no-retained-store'],
        ...args,
      ],
      {
        cwd: root,
        env: { ...process.env, EDGESPLIT_TOKENS: 'ue-1:ue:ue-1:ue-token-0123456789', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output.stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output.stderr += chunk.toString();
    });
    const spawned = child;
    const exited = new Promise<number | null>((resolve) => spawned.once('exit', resolve));
    return { port, output, exited, spawned };
  }

  /** A login with a username that tries to forge a log line; refused (wrong password). */
  async function hostileLogin(port: number): Promise<void> {
    await connectAsync(`mqtt://127.0.0.1:${port}`, {
      username: HOSTILE,
      password: 'wrong',
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    }).then(
      (client) => client.endAsync().then(() => expect.unreachable('the login was refused')),
      () => {},
    );
  }

  it('writes JSON lines on stderr (none on stdout), refusals quoted and where its metrics are included, at its --log-level', async () => {
    const { port, output, exited, spawned } = await startBroker({}, ['--metrics-port', '0']);
    await waitUntil('the broker listening', () => /listening on mqtt/.test(output.stderr));
    await hostileLogin(port);
    await waitUntil('the refusal logged', () => /refused connect/.test(output.stderr));
    spawned.kill('SIGTERM');
    expect(await exited).toBe(0);

    expect(output.stdout).toBe('');
    const lines = output.stderr.split('\n').filter((line) => line !== '');
    // Every line is one log record: the hostile username made no line of its own.
    expect(lines.map((line) => parseLogLine(line) === undefined)).not.toContain(true);
    const records = logRecords(output.stderr);
    expect(records.every((r) => r.component === 'broker' && typeof r.time === 'string')).toBe(true);
    expect(records.find((r) => /listening on mqtt/.test(r.msg))).toMatchObject({
      level: 'info',
      port,
    });
    const metrics = records.find((r) => /metrics on /.test(r.msg));
    expect(metrics).toMatchObject({
      level: 'info',
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/),
    });
    expect(metrics?.msg).toBe(`edgesplit broker: metrics on ${String(metrics?.url)}`);
    const refused = records.filter((r) => r.refused === 'connect');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'warn', username: HOSTILE });
    expect(refused[0]?.msg).toContain(`username=${JSON.stringify(HOSTILE)}`);
    expect(records.some((r) => r.msg === 'forged' || r.level === 'fatal')).toBe(false);
    expect(records.at(-1)).toMatchObject({
      level: 'info',
      msg: 'edgesplit broker: SIGTERM, closing',
    });
  });

  it('EDGESPLIT_LOG_LEVEL=warn leaves out the info lines', async () => {
    const { port, output, exited, spawned } = await startBroker({ EDGESPLIT_LOG_LEVEL: 'warn' });
    // Nothing says it listens at this level: try until the refusal is logged.
    await waitUntil('the refusal logged', async () => {
      await hostileLogin(port).catch(() => {});
      return /refused connect/.test(output.stderr);
    });
    spawned.kill('SIGTERM');
    expect(await exited).toBe(0);
    const records = logRecords(output.stderr);
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.level === 'warn')).toBe(true);
  });

  it('refuses a bad EDGESPLIT_LOG_LEVEL with exit code 2', async () => {
    const { output, exited } = await startBroker({ EDGESPLIT_LOG_LEVEL: 'loud' });
    expect(await exited).toBe(2);
    expect(output.stderr).toMatch(/EDGESPLIT_LOG_LEVEL: "loud" is not a level/);
  });
});
