import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CONTENDED_SCENARIO,
  generateFleet,
  loadScenario,
  parseScenario,
  planFleet,
  ScenarioError,
} from '../dnn/index.js';
import { contentionOf } from '../scheduler/contention.js';
import { parseInstance } from '../scheduler/instance.js';
import type { InstanceInput } from '../scheduler/instance-schema.js';
import { prepareFleet } from '../scheduler/solvers/index.js';
import { runCli } from './cli-run.js';

function contention(instance: InstanceInput) {
  const parsed = parseInstance(instance);
  if (!parsed.ok) throw parsed.error;
  return contentionOf(prepareFleet(parsed.value));
}

describe('the contended scenario', () => {
  it.each([
    [1, 40],
    [3, 40],
    [10, 40],
    [50, 20],
    [200, 8],
    [1000, 4],
  ])('N = %i, %i seeds: no fleet is pinned and every fleet has offloading UEs', (ues, seeds) => {
    const pinned: number[] = [];
    const allLocal: number[] = [];
    for (let seed = 0; seed < seeds; seed++) {
      const instance = generateFleet({ ues, seed, scenario: CONTENDED_SCENARIO });
      expect(instance.edge.units).toBe(ues);
      const c = contention(instance);
      if (c.pinned) pinned.push(seed);
      if (c.localUes === ues) allLocal.push(seed);
      expect(c.optimalMaxLatencyMs).toBeGreaterThan(c.unlimitedMaxLatencyMs);
    }
    expect(pinned).toEqual([]);
    expect(allLocal).toEqual([]);
  });

  it('draws only its devices, links, batches and models', () => {
    const { instance, members } = planFleet({ ues: 200, seed: 3, scenario: CONTENDED_SCENARIO });
    expect(new Set(members.map((m) => m.device))).toEqual(new Set(CONTENDED_SCENARIO.devices));
    expect(new Set(members.map((m) => m.link))).toEqual(new Set(CONTENDED_SCENARIO.links));
    expect(new Set(members.map((m) => m.model))).toEqual(new Set(CONTENDED_SCENARIO.models));
    expect(new Set(instance.ues.map((u) => u.batch))).toEqual(new Set(CONTENDED_SCENARIO.batches));
  });

  it('the catalog fleet of the old solver benchmark (seed 1, N = 100, R = 50) is pinned', () => {
    const c = contention(generateFleet({ ues: 100, units: 50, seed: 1 }));
    expect(c.pinned).toBe(true);
    expect(c.optimalMaxLatencyMs).toBe(c.unlimitedMaxLatencyMs);
  });
});

describe('scenario files', () => {
  it('a file gives its own devices, links, batches, jitter and units per UE', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'edgesplit-')), 'scenario.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'two-cameras',
        devices: ['rpi3-cpu'],
        links: ['4g'],
        batches: [2],
        linkJitter: 0,
        unitsPerUe: 0.5,
        models: ['squeezenet1.1'],
      }),
    );
    const scenario = await loadScenario(file);
    const { instance, members } = planFleet({ ues: 6, seed: 1, scenario });
    expect(instance.edge.units).toBe(3);
    expect(members.every((m) => m.device === 'rpi3-cpu' && m.link === '4g')).toBe(true);
    expect(members.every((m) => m.model === 'squeezenet1.1')).toBe(true);
    expect(instance.ues.every((u) => u.batch === 2 && u.uplinkMbps === 10 && u.rttMs === 50)).toBe(
      true,
    );
  });

  it('a bad scenario names every bad field', () => {
    const bad = { name: 'x', devices: ['toaster'], links: ['5g'], batches: [0], extra: 1 };
    expect(() => parseScenario(bad, 'f.json')).toThrow(ScenarioError);
    expect(() => parseScenario(bad, 'f.json')).toThrow(
      /devices\[0\]: unknown device class "toaster"/,
    );
    expect(() => parseScenario(bad, 'f.json')).toThrow(/batches\[0\]/);
    expect(() => parseScenario(bad, 'f.json')).toThrow(/extra/);
  });

  it('fleet generate --scenario: names the scenario, R and the contention on stderr; bad ones exit 2', () => {
    const run = runCli([
      'fleet',
      'generate',
      '--ues',
      '20',
      '--seed',
      '2',
      '--scenario',
      'contended',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).edge.units).toBe(20);
    expect(run.stderr).toMatch(
      /scenario contended, R = 20; not pinned: .* of 20 UEs local at the optimum/,
    );
    const catalog = runCli(['fleet', 'generate', '--ues', '100', '--units', '50', '--seed', '1']);
    expect(catalog.stderr).toMatch(/pinned: ue-\d+ alone decides the maximum.*84 of 100 UEs local/);
    const unknown = runCli([
      'fleet',
      'generate',
      '--ues',
      '2',
      '--seed',
      '1',
      '--scenario',
      'nope',
    ]);
    expect([unknown.code, unknown.stdout]).toEqual([2, '']);
    expect(unknown.stderr).toMatch(/neither a scenario \(catalog, contended\) nor a readable file/);
    const noUnits = runCli(['fleet', 'generate', '--ues', '2', '--seed', '1']);
    expect([noUnits.code, noUnits.stdout]).toEqual([2, '']);
    expect(noUnits.stderr).toMatch(/--units: is required/);
  });
});
