import { describe, expect, it } from 'vitest';
import {
  EDGE_WORKER_DEFAULTS,
  EdgeWorkerOptionsError,
  resolveEdgeWorkerOptions,
} from '../edge-worker/index.js';
import { EDGE_ANNOUNCE_MS, EDGE_STATUS_EXPIRY_MS } from '../proto/index.js';

const base = { id: 'w1', units: 2, mqttUrl: 'mqtt://127.0.0.1:1', redisUrl: 'redis://127.0.0.1:1' };

describe('edge worker options: announcements and the silence rule', () => {
  it('announce every 10 s and take others for silent after 30 s by default', () => {
    const resolved = resolveEdgeWorkerOptions(base);
    expect(resolved.announceMs).toBe(EDGE_ANNOUNCE_MS);
    expect(resolved.edgeStatusExpiryMs).toBe(EDGE_STATUS_EXPIRY_MS);
    expect(EDGE_WORKER_DEFAULTS.announceMs).toBe(10_000);
    expect(EDGE_WORKER_DEFAULTS.edgeStatusExpiryMs).toBe(30_000);
  });

  it('refuses announcements too rare for the expiry, naming both, and takes any with the rule off', () => {
    const tooRare = () => resolveEdgeWorkerOptions({ ...base, announceMs: 20_000 });
    expect(tooRare).toThrow(EdgeWorkerOptionsError);
    expect(tooRare).toThrow(
      /announceMs \(20000\) must be at most half of edgeStatusExpiryMs \(30000\)/,
    );
    expect(resolveEdgeWorkerOptions({ ...base, announceMs: 15_000 }).announceMs).toBe(15_000);
    const off = resolveEdgeWorkerOptions({ ...base, announceMs: 60_000, edgeStatusExpiryMs: 0 });
    expect(off.edgeStatusExpiryMs).toBe(0);
    expect(() => resolveEdgeWorkerOptions({ ...base, edgeStatusExpiryMs: -1 })).toThrow(
      /edgeStatusExpiryMs must be an integer >= 0, got -1/,
    );
    expect(() => resolveEdgeWorkerOptions({ ...base, announceMs: 0 })).toThrow(/announceMs/);
  });
});
