import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FleetSummary } from '../agents/index.js';
import { defined } from '../runtime/defined.js';
import {
  FakeEdge,
  fakeScheduler,
  slottedEdge,
  startBroker,
  type TestBroker,
  uniquePrefix,
  until,
} from './agent-harness.js';
import { FLEET_SUMMARY_KEYS } from './cli-run.js';
import { logRecords, messageText } from './log-lines.js';
import { WAIT_MS } from './wait-until.js';

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

/** Runs the CLI from source (no build needed), without blocking this process's broker. */
function cli(args: readonly string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    run.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString();
  });
  return run;
}

let broker: TestBroker;
let edge: FakeEdge;
let env: Record<string, string>;

beforeEach(async () => {
  broker = await startBroker();
  const prefix = uniquePrefix();
  edge = await FakeEdge.connect(broker.url, prefix);
  env = { MQTT_URL: broker.url, EDGESPLIT_TOPIC_PREFIX: prefix };
});

afterEach(async () => {
  await edge.close();
  await broker.close();
});

describe('edgesplit agent', () => {
  it('runs --tasks N under the decisions it gets and prints one JSON line per task', async () => {
    fakeScheduler(edge, { cut: 3, units: 1, edgeMs: 2 });
    edge.policy = slottedEdge(1, 2);
    const run = cli(
      ['agent', '--id', 'cam-1', '--model', 'tiny-cnn', '--link', 'wifi', '--batch', '2'],
      env,
    );
    // Without --tasks it runs until SIGTERM.
    await until(() => run.stdout.split('\n').length > 2, WAIT_MS, 'task lines');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    // Its log: JSON lines on stderr (a pipe), each naming the UE.
    const logs = logRecords(run.stderr);
    expect(logs.find((line) => /SIGTERM, stopping/.test(line.msg))).toMatchObject({
      level: 'info',
      component: 'agent',
      ueId: 'cam-1',
    });
    expect(logs.length).toBeGreaterThan(1);
    expect(logs.every((line) => line.ueId === 'cam-1' && typeof line.time === 'string')).toBe(true);
    expect(run.stdout).toMatch(/cam-1 task 1: epoch 1 cut 3 \(conv2\) units 1 predicted/);
    expect(edge.values('cam-1', 'status').at(-1)?.state).toBe('offline');

    const counted = cli(
      [
        'agent',
        '--id',
        'cam-2',
        '--model',
        'tiny-cnn',
        '--uplink-mbps',
        '20',
        '--tasks',
        '2',
        '--json',
      ],
      env,
    );
    expect(await counted.exit).toBe(0);
    const lines = counted.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      // With --json the agent also prints each decision and each link estimate it publishes.
      .filter((line) => line.task !== undefined);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ ue: 'cam-2', task: 2, cut: 3, units: 1, ok: true });
    expect(edge.values('cam-2', 'link')[0]).toMatchObject({ uplinkMbps: 20, rttMs: 0 });
  });

  it('exits with 2 on bad flags, naming them', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--id', 'a', '--model', 'tiny-cnn', '--link', 'emulated'],
        /give --link CLASS or --uplink-mbps N/,
      ],
      [['--id', 'a', '--model', 'lenet', '--link', '4g'], /model: unknown model "lenet"/],
      [['--id', 'a', '--model', 'tiny-cnn', '--link', '6g'], /--link/],
      [['--id', 'a', '--model', 'tiny-cnn', '--link', '4g', '--batch', '0'], /batch/],
    ];
    // In parallel: each run starts a node process.
    const runs = cases.map(([args]) => cli(['agent', ...args], env));
    const codes = await Promise.all(runs.map((run) => run.exit));
    expect(codes).toEqual([2, 2, 2, 2]);
    cases.forEach(([, message], i) => {
      expect(messageText(defined(runs[i], `run ${i}`).stderr)).toMatch(message);
    });
  });
});

describe('edgesplit fleet run', () => {
  it('runs until SIGTERM, printing summaries, then the JSON summary', async () => {
    fakeScheduler(edge, { cut: 2, units: 2, edgeMs: 2 });
    edge.policy = slottedEdge(2, 2);
    const run = cli(
      [
        'fleet',
        'run',
        '--ues',
        '2',
        '--seed',
        '3',
        '--models',
        'tiny-cnn',
        '--trace',
        'walk',
        '--summary-every',
        '0.5',
        '--json',
      ],
      env,
    );
    await until(() => /online 2\/2 .*tasks [1-9]/.test(run.stderr), WAIT_MS, 'a summary line');
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(0);
    const summary = JSON.parse(run.stdout) as FleetSummary;
    expect(Object.keys(summary).sort()).toEqual(FLEET_SUMMARY_KEYS);
    expect(summary.ues).toBe(2);
    expect(summary.requests).toBeGreaterThan(0);
    expect(summary.failed).toBe(0);
    expect(summary.epochs).toBeGreaterThanOrEqual(2);
  });

  it('stops after --duration and prints a readable summary', async () => {
    const run = cli(
      [
        'fleet',
        'run',
        '--ues',
        '1',
        '--seed',
        '1',
        '--models',
        'tiny-cnn',
        '--duration',
        '1',
        '--before-decision',
        'local',
        '--trace',
        'steps:0.5=3',
      ],
      env,
    );
    expect(await run.exit).toBe(0);
    expect(run.stdout).toMatch(/fleet: 1 UEs, 0 epochs; requests 0/);
    expect(run.stdout).toMatch(/latency: max predicted \d/);
  });

  it('exits with 2 naming the bad line of a trace file', async () => {
    const file = join(tmpdir(), `trace-${process.pid}.csv`);
    writeFileSync(file, 'seconds,Mbps\n0,10\n5,fast\n');
    const run = cli(['fleet', 'run', '--ues', '1', '--seed', '1', '--trace', file], env);
    const typo = cli(['fleet', 'run', '--ues', '1', '--seed', '1', '--trace', 'wlak'], env);
    expect(await run.exit).toBe(2);
    expect(messageText(run.stderr)).toMatch(
      /trace-\d+\.csv:3: Mbps must be a number > 0, got "5,fast"/,
    );
    expect(await typo.exit).toBe(2);
    expect(messageText(typo.stderr)).toMatch(/unknown trace "wlak"/);
  });
});
