import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-run.js';

const example = 'examples/paper-example.json';

function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'edgesplit-')), name);
  writeFileSync(file, content);
  return file;
}

const twoUes = JSON.stringify({
  edge: { units: 4 },
  ues: ['a', 'b'].map((id, i) => ({
    id,
    batch: 2,
    uplinkMbps: 10 * (i + 1),
    cuts: [
      { name: 'input', deviceMs: 0, bytes: 100_000, edgeMs: 20 },
      { name: 'block1', deviceMs: 10, bytes: 20_000, edgeMs: 10 },
      { name: 'output', deviceMs: 60, bytes: 40, edgeMs: 0 },
    ],
  })),
});

describe('edgesplit solve', () => {
  it('prints a table with the bottleneck marked', () => {
    const { code, stdout } = runCli(['solve', tempFile('f.json', twoUes)]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/UE\s+cut\s+units\s+latency ms/);
    expect(stdout).toContain('<- bottleneck');
    expect(stdout).toMatch(/solver optimal: max/);
  });

  it('--json gives the documented fields, with integer-model latencies', () => {
    const { code, stdout } = runCli([
      'solve',
      tempFile('f.json', twoUes),
      '--solver',
      'iao',
      '--json',
    ]);
    expect(code).toBe(0);
    const out = JSON.parse(stdout);
    expect(Object.keys(out)).toEqual([
      'solver',
      'maxLatencyMs',
      'meanLatencyMs',
      'unitsUsed',
      'localUes',
      'solveMs',
      'continuousMaxLatencyMs',
      'iterations',
      'fleet',
      'decisions',
    ]);
    expect(out.decisions).toHaveLength(2);
    expect(Object.keys(out.decisions[0])).toEqual(['id', 'cut', 'cutName', 'units', 'latencyMs']);
    const max = Math.max(...out.decisions.map((d: { latencyMs: number }) => d.latencyMs));
    expect(out.maxLatencyMs).toBe(max);
  });

  it('--solver all gives one row per solver', () => {
    const table = runCli(['solve', example, '--solver', 'all']);
    expect(table.code).toBe(0);
    for (const name of ['optimal', 'iao', 'local', 'edge', 'even'])
      expect(table.stdout).toContain(name);
    const json = JSON.parse(runCli(['solve', example, '--solver', 'all', '--json']).stdout);
    expect(json.map((s: { solver: string }) => s.solver)).toEqual([
      'optimal',
      'iao',
      'local',
      'edge',
      'even',
    ]);
  });

  it('an invalid file exits 2 with the errors on stderr and nothing on stdout', () => {
    const bad = JSON.parse(twoUes);
    bad.ues[1].cuts[1].deviceMs = -3;
    bad.ues[0].cuts[2].edgeMs = 5;
    const { code, stdout, stderr } = runCli(['solve', tempFile('bad.json', JSON.stringify(bad))]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('ues[1].cuts[1].deviceMs: must be a finite number >= 0 (UE "b")');
    const notJson = runCli(['solve', tempFile('x.json', '{"edge":')]);
    expect([notJson.code, notJson.stdout]).toEqual([2, '']);
    expect(notJson.stderr).toContain('not valid JSON');
    const missing = runCli(['solve', '/nonexistent/instance.json']);
    expect([missing.code, missing.stdout]).toEqual([2, '']);
  });

  it('a shape error names the UE, the cut and the field', () => {
    const bad = JSON.parse(twoUes);
    bad.ues[0].cuts[2].edgeMs = 5;
    const { code, stderr } = runCli(['solve', tempFile('bad.json', JSON.stringify(bad))]);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'ues[0].cuts[2].edgeMs: must be 0 at the last cut ("output") (UE "a")',
    );
  });

  // a and b could each use 4 units (batch 4); c is fastest locally.
  const threeUes = (units: number) =>
    JSON.stringify({
      edge: { units },
      ues: ['a', 'b', 'c'].map((id) => ({
        id,
        batch: 4,
        uplinkMbps: 1000,
        cuts: [
          { name: 'input', deviceMs: 0, bytes: 1000, edgeMs: id === 'c' ? 500 : 100 },
          { name: 'output', deviceMs: id === 'c' ? 10 : 1000, bytes: 40, edgeMs: 0 },
        ],
      })),
    });

  it('a fleet whose units suffice is reported pinned, with its local UEs (text and JSON)', () => {
    const file = tempFile('pinned.json', threeUes(8));
    const text = runCli(['solve', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/fleet pinned: a alone decides the maximum \(100\.0 ms/);
    expect(text.stdout).toContain('1 of 3 UEs local at the optimum');
    const json = JSON.parse(runCli(['solve', file, '--json']).stdout);
    expect(json.localUes).toBe(1);
    expect(json.fleet).toEqual({
      pinned: true,
      unlimitedMaxLatencyMs: 100.032,
      limitingUe: 'a',
      optimalMaxLatencyMs: 100.032,
      localUesAtOptimum: 1,
    });
  });

  it('a fleet short of units is reported not pinned, with its local UEs per solver', () => {
    const file = tempFile('contended.json', threeUes(2));
    const text = runCli(['solve', file, '--solver', 'all']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/fleet not pinned: the optimum 400\.0 ms is above/);
    expect(text.stdout).toContain('1 of 3 UEs local at the optimum');
    const json = JSON.parse(runCli(['solve', file, '--solver', 'all', '--json']).stdout);
    const local = Object.fromEntries(
      json.map((s: { solver: string; localUes: number }) => [s.solver, s.localUes]),
    );
    expect(local).toEqual({ optimal: 1, iao: 1, local: 3, edge: 1, even: 1 });
    for (const s of json) {
      expect(s.fleet).toEqual({
        pinned: false,
        unlimitedMaxLatencyMs: 100.032,
        limitingUe: 'a',
        optimalMaxLatencyMs: 400.032,
        localUesAtOptimum: 1,
      });
    }
  });

  it('an unknown solver is a usage error (exit 2)', () => {
    const { code, stdout } = runCli(['solve', example, '--solver', 'magic']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
  });
});
