import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { edgeProfile } from '../dnn/index.js';
import { type EdgeWorker, startEdgeWorker } from '../edge-worker/index.js';
import { defined } from '../runtime/defined.js';
import { EdgeTestBed, REDIS_URL, startBroker } from './edge-harness.js';
import { waitUntil } from './wait-until.js';

const root = fileURLToPath(new URL('..', import.meta.url));

let broker: Awaited<ReturnType<typeof startBroker>>;
let bed: EdgeTestBed;
const children: ChildProcess[] = [];
const workers: EdgeWorker[] = [];

/** A speed factor that makes a tiny-cnn tail from cut 2 take about `ms`. */
function speedFor(ms: number): number {
  return ms / defined(edgeProfile('tiny-cnn')[2], "the edge time of tiny-cnn's cut 2");
}

/** `edgesplit edge-worker` in its own process, run from the sources with tsx. */
function spawnWorker(id: string, units: number, speedFactor: number): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cli/main.ts',
      'edge-worker',
      ...['--id', id, '--units', String(units), '--models', 'tiny-cnn'],
      ...['--speed-factor', String(speedFactor)],
      ...['--topic-prefix', bed.topicPrefix, '--redis-prefix', bed.redisPrefix],
    ],
    {
      cwd: root,
      env: { ...process.env, MQTT_URL: broker.url, REDIS_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL')
      process.stderr.write(`worker ${id} exited ${code ?? signal}: ${stderr}\n`);
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.close();
});

beforeEach(async () => {
  bed = await EdgeTestBed.create(broker.url);
});

afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await bed.close();
});

describe('edge worker processes', () => {
  it('a SIGKILLed worker leaves by its last will and its job is retried elsewhere, answered once', async () => {
    const a = spawnWorker('edge-a', 1, speedFor(8000));
    await waitUntil('edge-a online', () => bed.statusOf('edge-a')?.state === 'online');
    let pickedUpAt: number | undefined;
    const b = await startEdgeWorker({
      id: 'edge-b',
      units: 1,
      models: ['tiny-cnn'],
      speedFactor: speedFor(50),
      mqttUrl: broker.url,
      redisUrl: REDIS_URL,
      redisPrefix: bed.redisPrefix,
      topicPrefix: bed.topicPrefix,
      onJobStart: () => {
        pickedUpAt ??= Date.now();
      },
      onError: () => {},
    });
    workers.push(b);
    await bed.decide('u1', 1);
    // edge-a sorts first, so the packing gives it u1; edge-b keeps out.
    await waitUntil('edge-b sees edge-a', () => b.stats().perQueue.u1 === undefined);
    await bed.enqueue({ ue: 'u1', requestId: 'r1' });
    await waitUntil('active on edge-a', async () => (await bed.jobState('u1', 'r1')) === 'active');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pickedUpAt).toBeUndefined();
    const killedAt = Date.now();
    a.kill('SIGKILL');
    await waitUntil('last will', () => bed.statusOf('edge-a')?.state === 'offline');
    await waitUntil('picked up', () => pickedUpAt !== undefined);
    // edge-b took the job only once edge-a was gone (it had left it alone while edge-a lived).
    const pickedUp = pickedUpAt ?? Number.NaN;
    expect(pickedUp).toBeGreaterThanOrEqual(killedAt);
    process.stderr.write(`job picked up ${pickedUp - killedAt} ms after SIGKILL\n`);
    await waitUntil('result', () => bed.resultsFor('r1').length >= 1);
    // One result, from edge-b: the killed worker never answered.
    expect(bed.resultsFor('r1').map((result) => result.worker)).toEqual(['edge-b']);
    await waitUntil('completed', async () => (await bed.jobState('u1', 'r1')) === 'completed');
    await waitUntil('claim deleted', async () => !(await bed.claimExists('u1', 'r1')));
  });

  it('on SIGTERM stops taking jobs, finishes those in flight, then goes offline', async () => {
    const c = spawnWorker('edge-c', 2, speedFor(1500));
    await waitUntil('edge-c online', () => bed.statusOf('edge-c')?.state === 'online');
    await bed.decide('u2', 2);
    await bed.enqueue({ ue: 'u2', requestId: 'r1' });
    await bed.enqueue({ ue: 'u2', requestId: 'r2' });
    await waitUntil('both active', async () => (await bed.queue('u2').getActiveCount()) === 2);
    c.kill('SIGTERM');
    const exited = once(c, 'exit');
    // Jobs arriving after SIGTERM are left for other workers.
    await bed.enqueue({ ue: 'u2', requestId: 'late' });
    const [code] = await exited;
    expect(code).toBe(0);
    expect(bed.resultsFor('r1')).toHaveLength(1);
    expect(bed.resultsFor('r2')).toHaveLength(1);
    expect(await bed.jobState('u2', 'r1')).toBe('completed');
    expect(await bed.jobState('u2', 'r2')).toBe('completed');
    expect(await bed.claimExists('u2', 'r1')).toBe(false);
    expect(await bed.jobState('u2', 'late')).toBe('waiting');
    await waitUntil('offline', () => bed.statusOf('edge-c')?.state === 'offline');
    // The results were published before the offline status.
    const offline = bed.statuses.find((s) => s.worker === 'edge-c' && s.status.state === 'offline');
    const lastResult = Math.max(...bed.results.map((entry) => entry.at));
    expect(offline?.at).toBeGreaterThanOrEqual(lastResult);
  });
});
