import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runFleet, summarizeFleet, type WindowSummary } from '../agents/index.js';
import { planFleet } from '../dnn/index.js';
import { defined } from '../runtime/defined.js';
import {
  FakeEdge,
  fakeScheduler,
  slottedEdge,
  startBroker,
  type TestBroker,
  uniquePrefix,
} from './agent-harness.js';

let broker: TestBroker;
let edge: FakeEdge;
let prefix: string;

beforeEach(async () => {
  broker = await startBroker();
  prefix = uniquePrefix();
  edge = await FakeEdge.connect(broker.url, prefix);
});

afterEach(async () => {
  await edge.close();
  await broker.close();
});

describe('runFleet', () => {
  it('runs M agents from planFleet, follows the trace and summarises', async () => {
    const scheduler = fakeScheduler(edge, { cut: 2, units: 2, edgeMs: 5 });
    edge.policy = slottedEdge(2, 5);
    const windows: WindowSummary[] = [];
    const summary = await runFleet({
      ues: 3,
      seed: 4,
      models: ['tiny-cnn'],
      trace: { kind: 'steps', steps: [{ atS: 0.6, mbps: 50 }] },
      mqttUrl: broker.url,
      topicPrefix: prefix,
      durationS: 2,
      summaryEveryS: 0.5,
      thinkTimeMs: 20,
      onSummary: (window) => windows.push(window),
    });
    const { members, instance } = planFleet({ ues: 3, units: 0, seed: 4, models: ['tiny-cnn'] });
    // Every UE announced the profile of its model, device and batch, and its own link first.
    members.forEach((member, i) => {
      const ue = defined(instance.ues[i], `UE ${i} of the planned instance`);
      const profile = defined(edge.values(member.id, 'profile')[0], `${member.id}'s profile`);
      expect(profile.batch).toBe(ue.batch);
      expect(profile.cuts.map((c) => c.deviceMs)).toEqual(ue.cuts.map((c) => c.deviceMs));
      const links = edge.values(member.id, 'link');
      expect(links[0]?.uplinkMbps).toBe(ue.uplinkMbps);
      expect(links.at(-1)?.uplinkMbps).toBe(50);
      expect(edge.values(member.id, 'status').at(-1)?.state).toBe('offline');
    });

    expect(summary.ues).toBe(3);
    expect(summary.requests).toBeGreaterThan(0);
    expect(summary.ok).toBe(summary.requests);
    expect(summary).toMatchObject({ failed: 0, retried: 0, duplicatesDropped: 0 });
    // Two links per UE (start, step) make two decisions, each with its own epoch.
    expect(summary.epochs).toBe(scheduler.decisions.length);
    expect(summary.epochs).toBe(6);
    expect(summary.maxPredictedMs).toBeGreaterThan(0);
    expect(summary.measured.p50Ms).toBeGreaterThan(0);
    const p50Ms = defined(summary.measured.p50Ms, 'the measured p50');
    expect(summary.measured.p99Ms).toBeGreaterThanOrEqual(p50Ms);
    // Every UE offloads at cut 2: its tasks count among the offloaded ones. (How close the
    // emulation comes to the prediction on a shared machine is a benchmark's figure.)
    expect(summary.predictionError.offloaded.ues).toBe(3);
    expect(summary.predictionError.offloaded.errorP50Pct).not.toBeNull();

    expect(windows.length).toBeGreaterThanOrEqual(3);
    expect(windows[0]).toMatchObject({ ues: 3, online: 3 });
    expect(windows.at(-1)?.epoch).toBe(6);
    expect(windows.some((w) => w.tasks > 0 && w.measured !== null)).toBe(true);
  });

  it('stops when its signal aborts, and fails fast on an unreachable broker', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const summary = await runFleet({
      ues: 2,
      seed: 1,
      models: ['tiny-cnn'],
      trace: { kind: 'constant' },
      mqttUrl: broker.url,
      topicPrefix: prefix,
      beforeDecision: 'local',
      signal: controller.signal,
    });
    expect(summary.ues).toBe(2);
    expect(summary.requests).toBe(0);
    expect(summary.maxPredictedMs).toBeGreaterThan(0);

    await expect(
      runFleet({
        ues: 1,
        seed: 1,
        trace: { kind: 'constant' },
        mqttUrl: 'mqtt://127.0.0.1:1',
        durationS: 1,
        mqttOptions: { reconnectPeriod: 0 },
      }),
    ).rejects.toThrow();
  });
});

describe('summarizeFleet', () => {
  it('computes totals, percentiles and the prediction error of offloaded and local tasks apart', () => {
    const record = (predictedMs: number, measuredMs: number, ok = true, offloaded = true) => ({
      task: 1,
      at: 0,
      epoch: 1,
      cut: offloaded ? 1 : 4,
      offloaded,
      units: offloaded ? 1 : 0,
      predictedMs,
      measuredMs,
      ok,
      retries: 0,
    });
    const base = {
      tasks: 0,
      tasksFailed: 0,
      requests: 10,
      ok: 9,
      failed: 1,
      retried: 2,
      cancelled: 0,
      duplicatesDropped: 1,
      lateDropped: 0,
      unknownDropped: 0,
    };
    const summary = summarizeFleet(2, [
      { ...base, epochs: [1, 2], latencies: [record(100, 110), record(100, 90)] },
      {
        ...base,
        epochs: [2, 3],
        latencies: [record(200, 260), record(400, 9999, false), record(50, 51, true, false)],
      },
    ]);
    expect(summary).toMatchObject({
      ues: 2,
      epochs: 3,
      requests: 20,
      ok: 18,
      failed: 2,
      retried: 4,
      duplicatesDropped: 2,
      maxPredictedMs: 400,
    });
    // Measured over ok tasks 51, 90, 110, 260 (linear interpolation between ranks).
    expect(summary.measured.p50Ms).toBeCloseTo(100, 9);
    expect(summary.measured.p99Ms).toBeCloseTo(110 + 0.97 * 150, 9);
    // Offloaded errors 10, 10, 30 % (the failed task left out); UE medians 10 and 30 %.
    const { offloaded, local } = summary.predictionError;
    expect(offloaded).toMatchObject({ ues: 2, tasks: 3 });
    expect(offloaded.errorP50Pct).toBeCloseTo(10, 9);
    expect(offloaded.errorP90Pct).toBeCloseTo(26, 9);
    expect(offloaded.ueMedianP50Pct).toBeCloseTo(20, 9);
    expect(offloaded.worstUeMedianPct).toBeCloseTo(30, 9);
    // The one local task, 2 %, counts only among the local ones.
    expect(local).toMatchObject({ ues: 1, tasks: 1 });
    expect(local.errorP50Pct).toBeCloseTo(2, 9);
    expect(local.worstUeMedianPct).toBeCloseTo(2, 9);
    const none = { ues: 0, tasks: 0, errorP50Pct: null, worstUeMedianPct: null };
    expect(summarizeFleet(0, [])).toMatchObject({
      maxPredictedMs: null,
      measured: { p50Ms: null, p99Ms: null },
      predictionError: { offloaded: none, local: none },
    });
  });
});
