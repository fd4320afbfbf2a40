import { describe, expect, it } from 'vitest';
import { summarizeFleet } from '../agents/index.js';
import { formatFinal, jsonSummary, outsideRequests } from '../cli/up/up-report.js';
import type { SystemView } from '../system/index.js';

const record = (predictedMs: number, measuredMs: number, offloaded: boolean) => ({
  task: 1,
  at: 0,
  epoch: 1,
  cut: offloaded ? 1 : 4,
  offloaded,
  units: offloaded ? 1 : 0,
  predictedMs,
  measuredMs,
  ok: true,
  retries: 0,
});
const counters = {
  tasks: 2,
  tasksFailed: 0,
  requests: 2,
  ok: 2,
  failed: 0,
  retried: 0,
  cancelled: 0,
  duplicatesDropped: 0,
  lateDropped: 0,
  unknownDropped: 0,
};
const view: SystemView = {
  epoch: 3,
  units: 2,
  solves: 4,
  lastSolveMs: 0.5,
  maxPredictedMs: 200,
  edgeRunning: 0,
  edgeCompleted: 540,
  ingressAccepted: 538,
  ingressRejected: 0,
};

describe("up's final report", () => {
  const summary = summarizeFleet(2, [
    { ...counters, epochs: [1], latencies: [record(100, 125, true), record(100, 135, true)] },
    { ...counters, epochs: [1], latencies: [record(50, 50.5, false)] },
  ]);

  it('gives the prediction error of offloaded and local tasks apart, in percent in text and JSON', () => {
    const json = jsonSummary(summary).predictionError;
    expect(json.offloaded).toMatchObject({ ues: 1, tasks: 2 });
    expect(json.offloaded.errorP50Pct).toBeCloseTo(30, 9);
    expect(json.local.errorP50Pct).toBeCloseTo(1, 9);
    const text = formatFinal(summary, view);
    expect(text).toContain('offloaded (1 UEs, 2 tasks) p50 30.0%');
    expect(text).toContain('local (1 UEs, 1 tasks) p50 1.0%');
  });

  it("counts requests from UEs it did not start, which the fleet's figures leave out", () => {
    // The fleet published 4 requests; the ingress took 538: 534 came from elsewhere.
    expect(summary.requests).toBe(4);
    expect(outsideRequests(summary, view)).toBe(534);
    expect(formatFinal(summary, view)).toContain(
      'ingress: 538 requests accepted, 534 of them from UEs up did not start',
    );
    expect(outsideRequests(summary, { ...view, ingressAccepted: 3 })).toBe(0);
  });
});
