/**
 * A real Prometheus (Debian's `prometheus`) scraping a running stack every second: `edgesplit up`
 * (broker, ingress, scheduler, two edge workers and a fleet in one process) and a third edge
 * worker as a process of its own, each serving /metrics. The test asks Prometheus's HTTP API for
 * the series and checks their values against each other and against what the stack does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, onPath } from '../system/net.js';
import { deleteKeys } from '../system/redis-keys.js';
import { assertCliBuilt } from './cli-process.js';
import { assertStoppedCleanly, ProcessGroup } from './process-harness.js';
import { testRedisUrl } from './services.js';
import { titled, unavailable } from './tools.js';
import { waitUntil } from './wait-until.js';

const missing = onPath('prometheus')
  ? undefined
  : unavailable('prometheus not on PATH (apt-get install prometheus; .ci/run installs it)');
const UES = 6;

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** The instant vector of `query`, from Prometheus's HTTP API. */
async function query(base: string, promql: string): Promise<Sample[]> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as {
    status: string;
    data?: { resultType: string; result: Sample[] };
    error?: string;
  };
  if (body.status !== 'success' || body.data === undefined)
    throw new Error(`query ${promql}: ${body.error ?? response.status}`);
  return body.data.result;
}

/** The single value of `query`, or undefined when it has no sample. */
async function scalar(base: string, promql: string): Promise<number | undefined> {
  const [first] = await query(base, promql);
  return first === undefined ? undefined : Number(first.value[1]);
}

const valuesWith = (samples: readonly Sample[], label: string, value: string) =>
  samples.filter((sample) => sample.metric[label] === value).map((s) => Number(s.value[1]));

describe.skipIf(missing !== undefined)(
  titled('Prometheus scraping a running stack', missing),
  () => {
    const group = new ProcessGroup();
    const dir = mkdtempSync(join(tmpdir(), 'edgesplit-prometheus-'));
    const redisPrefix = `metrics-${randomBytes(4).toString('hex')}`;
    let prometheus: ChildProcess | undefined;
    let prometheusLog = '';

    afterAll(async () => {
      if (prometheus !== undefined && prometheus.exitCode === null) {
        const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
        prometheus.kill('SIGTERM');
        await exited;
      }
      const unclean = await group.stopAll();
      await deleteKeys(testRedisUrl(), `${redisPrefix}:*`).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      assertStoppedCleanly(unclean);
    });

    it('finds the series of a running fleet with consistent values: decisions, max predicted, requests, jobs, units, connections, readiness', async () => {
      assertCliBuilt();
      const [mqttPort, upMetrics, workerMetrics, promPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
      const env = { REDIS_URL: testRedisUrl(), EDGESPLIT_REDIS_PREFIX: redisPrefix };
      const up = group.start(
        'up',
        [
          'up',
          ...['--executor', 'emulated', '--port', String(mqttPort), '--ues', String(UES)],
          ...['--workers', '2', '--units', '2', '--think-ms', '50', '--summary-every', '5'],
          ...['--metrics-port', String(upMetrics)],
        ],
        env,
      );
      // The metrics URL is the first line up writes.
      const first = await up.waitFor('stderr', /./);
      expect(first).toBe(`edgesplit up: metrics on http://127.0.0.1:${upMetrics}/metrics`);
      await up.waitFor('stdout', /simulated UEs/);
      const worker = group.start(
        'edge-worker w3',
        ['edge-worker', '--id', 'w3', '--units', '3', '--metrics-port', String(workerMetrics)],
        { ...env, MQTT_URL: `mqtt://127.0.0.1:${mqttPort}` },
      );
      await worker.waitFor('stderr', /online with 3 units/);

      // Both processes ready by their own account.
      for (const port of [upMetrics, workerMetrics]) {
        await waitUntil(`readyz of :${port}`, async () => {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`);
          return response.status === 200;
        });
      }

      const config = join(dir, 'prometheus.yml');
      writeFileSync(
        config,
        [
          'global:',
          '  scrape_interval: 1s',
          '  evaluation_interval: 1s',
          'scrape_configs:',
          '  - job_name: edgesplit',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${upMetrics}', '127.0.0.1:${workerMetrics}']`,
          '',
        ].join('\n'),
      );
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      prometheus.stderr?.on('data', (chunk: Buffer) => {
        prometheusLog = `${prometheusLog}${chunk.toString()}`.slice(-4000);
      });
      const base = `http://127.0.0.1:${promPort}`;
      const scraped = async () => {
        if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusLog}`);
        try {
          const targets = await query(base, 'up{job="edgesplit"} == 1');
          return targets.length === 2;
        } catch {
          return false;
        }
      };
      await waitUntil('Prometheus scraping both targets', scraped);

      // The fleet at work: the scheduler counted three workers' units, requests were queued
      // and answered, agents measured tasks (values as Prometheus scraped them).
      await waitUntil('R = 2 x 2 + 3 units in the scheduler', async () => {
        return (await scalar(base, 'edgesplit_scheduler_units')) === 7;
      });
      await waitUntil('completed jobs and measured tasks', async () => {
        const jobs = await scalar(base, 'sum(edgesplit_edge_jobs_total{outcome="completed"})');
        const tasks = await scalar(base, 'sum(edgesplit_agent_latency_seconds_count)');
        return (jobs ?? 0) > 0 && (tasks ?? 0) > 0;
      });
      // One more scrape of everything after that.
      await new Promise((resolve) => setTimeout(resolve, 2500));

      const declared = await query(base, 'edgesplit_edge_units_declared');
      expect(declared.map((s) => [s.metric.worker, Number(s.value[1])]).sort()).toEqual([
        ['edge-1', 2],
        ['edge-2', 2],
        ['w3', 3],
      ]);
      const busy = await query(base, 'edgesplit_edge_units_busy');
      for (const sample of busy) {
        const units = valuesWith(declared, 'worker', sample.metric.worker ?? '')[0] ?? 0;
        expect(Number(sample.value[1])).toBeLessThanOrEqual(units);
      }

      expect(await scalar(base, 'edgesplit_scheduler_leader')).toBe(1);
      expect(await scalar(base, 'edgesplit_scheduler_epoch')).toBeGreaterThanOrEqual(1);
      expect(await scalar(base, 'edgesplit_scheduler_ues')).toBe(UES);
      expect(await scalar(base, 'edgesplit_scheduler_solves_total')).toBeGreaterThanOrEqual(1);
      expect(
        await scalar(base, 'edgesplit_scheduler_solve_duration_seconds_count'),
      ).toBeGreaterThanOrEqual(1);

      // Per-UE decisions: one series per UE (fewer than the cap); their units fit R, and the
      // fleet's predicted max is the largest UE prediction of the same solve.
      const predicted = await query(base, 'edgesplit_ue_predicted_latency_seconds');
      expect(predicted).toHaveLength(UES);
      const cuts = await query(base, 'edgesplit_ue_decision_cut');
      expect(cuts).toHaveLength(UES);
      for (const cut of cuts) expect(Number(cut.value[1])).toBeGreaterThanOrEqual(0);
      const units = await scalar(base, 'sum(edgesplit_ue_decision_units)');
      expect(units).toBeGreaterThan(0);
      expect(units).toBeLessThanOrEqual(7);
      const max = await scalar(base, 'edgesplit_fleet_predicted_max_latency_seconds');
      expect(max).toBeGreaterThan(0);
      expect(max).toBeCloseTo(Math.max(...predicted.map((sample) => Number(sample.value[1]))), 9);

      // Requests: accepted ones stored their tensors; none failed.
      const requests = await query(base, 'edgesplit_ingress_requests_total');
      expect(valuesWith(requests, 'outcome', 'accepted')[0]).toBeGreaterThan(0);
      expect(valuesWith(requests, 'outcome', 'failed')).toEqual([0]);
      expect(valuesWith(requests, 'outcome', 'rejected')).toEqual([0]);
      expect(await scalar(base, 'edgesplit_ingress_stored_bytes_total')).toBeGreaterThan(0);
      const queueWaits = await scalar(base, 'sum(edgesplit_edge_queue_wait_seconds_count)');
      const computes = await scalar(base, 'sum(edgesplit_edge_compute_duration_seconds_count)');
      expect(queueWaits).toBeGreaterThan(0);
      expect(computes).toBeGreaterThan(0);
      expect(await scalar(base, 'sum(edgesplit_edge_jobs_total{outcome="failed"})')).toBe(0);

      // Agents: every UE connected and measured, each with a latency series of its own.
      expect(await scalar(base, 'edgesplit_agents')).toBe(UES);
      expect(await scalar(base, 'edgesplit_agents_connected')).toBe(UES);
      const perUe = await query(base, 'edgesplit_agent_latency_seconds_count');
      expect(perUe.map((s) => s.metric.ue).sort()).toEqual(
        Array.from({ length: UES }, (_, i) => `ue-${String(i + 1).padStart(4, '0')}`),
      );
      expect(await scalar(base, 'sum(edgesplit_agent_tasks_total)')).toBeGreaterThan(0);
      expect(
        await scalar(base, 'sum(edgesplit_agent_prediction_error_ratio_count)'),
      ).toBeGreaterThan(0);

      // The broker: every client connected, nothing refused, bytes both ways.
      expect(await scalar(base, 'edgesplit_broker_clients')).toBeGreaterThanOrEqual(UES + 4);
      expect(await scalar(base, 'sum(edgesplit_broker_refusals_total)')).toBe(0);
      expect(await scalar(base, 'edgesplit_broker_received_bytes_total')).toBeGreaterThan(0);
      expect(await scalar(base, 'edgesplit_broker_sent_bytes_total')).toBeGreaterThan(0);

      // Every component of both processes connected.
      const mqtt = await query(base, 'edgesplit_mqtt_connected');
      const redis = await query(base, 'edgesplit_redis_connected');
      expect(mqtt.map((s) => s.metric.component).sort()).toEqual([
        'agents',
        'broker',
        'edge-worker edge-1',
        'edge-worker edge-2',
        'edge-worker w3',
        'ingress',
        'scheduler',
      ]);
      for (const sample of [...mqtt, ...redis]) expect(sample.value[1]).toBe('1');
      // Process metrics of Node.js come with them.
      expect(await query(base, 'process_resident_memory_bytes')).toHaveLength(2);
    });
  },
);
