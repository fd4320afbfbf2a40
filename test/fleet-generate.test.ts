import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEVICE_CLASSES,
  EDGE_UNIT,
  FleetOptionsError,
  generateFleet,
  LINK_CLASSES,
  LINK_JITTER,
  modelCuts,
  planFleet,
  REAL_MODELS,
} from '../dnn/index.js';
import { defined } from '../runtime/defined.js';
import { instanceSchema } from '../scheduler/instance-schema.js';
import { runCli } from './cli-run.js';

const json = (value: unknown) => JSON.stringify(value, null, 2);

describe('generateFleet', () => {
  it('is deterministic for a seed, and seeds differ', () => {
    const a = json(generateFleet({ ues: 50, units: 16, seed: 7 }));
    expect(json(generateFleet({ ues: 50, units: 16, seed: 7 }))).toBe(a);
    expect(json(generateFleet({ ues: 50, units: 16, seed: 8 }))).not.toBe(a);
  });

  it('passes the instance schema with docs/model.md cut shapes, up to 10,000 UEs', () => {
    const instance = generateFleet({ ues: 10_000, units: 64, seed: 3 });
    const parsed = instanceSchema.safeParse(instance);
    expect(parsed.success).toBe(true);
    expect(instance.ues).toHaveLength(10_000);
    expect(instance.ues[0]?.id).toBe('ue-00001');
    expect(instance.edge.units).toBe(64);
    const misshapen = instance.ues.filter(
      (ue) =>
        ue.cuts[0]?.deviceMs !== 0 ||
        ue.cuts.at(-1)?.edgeMs !== 0 ||
        ue.cuts.some((cut, p) => {
          const prev = ue.cuts[p - 1];
          return prev !== undefined && (cut.deviceMs < prev.deviceMs || cut.edgeMs > prev.edgeMs);
        }),
    );
    expect(misshapen).toEqual([]);
  });

  it('derives cuts from the zoo and catalogs', () => {
    const { instance, members } = planFleet({ ues: 40, units: 8, seed: 1 });
    expect(members.map((m) => m.model).slice(0, 5)).toEqual(REAL_MODELS);
    instance.ues.forEach((ue, i) => {
      const member = defined(members[i], `member ${i}`);
      expect(ue.id).toBe(member.id);
      expect(ue.id).toMatch(/^ue-\d{4}$/);
      expect([1, 2, 4, 8]).toContain(ue.batch);
      const zoo = modelCuts(member.model);
      const device = defined(
        DEVICE_CLASSES.find((d) => d.id === member.device),
        `device class ${member.device}`,
      );
      const link = defined(
        LINK_CLASSES.find((l) => l.id === member.link),
        `link class ${member.link}`,
      );
      expect(ue.resultBytes).toBe(zoo.at(-1)?.bytes);
      expect(ue.cuts.map((c) => c.name)).toEqual(zoo.map((c) => c.name));
      ue.cuts.forEach((cut, p) => {
        expect(cut.bytes).toBe(zoo[p]?.bytes);
        const { flopsBefore, flopsAfter } = defined(zoo[p], `${member.model}'s cut ${p}`);
        expect(cut.deviceMs).toBeCloseTo(flopsBefore / device.gflops / 1e6, 9);
        expect(cut.edgeMs).toBeCloseTo(flopsAfter / EDGE_UNIT.gflops / 1e6, 9);
      });
      const within = (value: number | undefined, base: number) => {
        expect(value).toBeGreaterThanOrEqual(base * (1 - LINK_JITTER) - 0.01);
        expect(value).toBeLessThanOrEqual(base * (1 + LINK_JITTER) + 0.01);
      };
      within(ue.uplinkMbps, link.uplinkMbps);
      within(ue.downlinkMbps, link.downlinkMbps);
      within(ue.rttMs, link.rttMs);
    });
  });

  it('respects the models filter', () => {
    const { members } = planFleet({ ues: 9, units: 4, seed: 2, models: ['tiny-cnn', 'resnet18'] });
    expect(new Set(members.map((m) => m.model))).toEqual(new Set(['tiny-cnn', 'resnet18']));
    const instance = generateFleet({ ues: 3, units: 4, seed: 2, models: ['tiny-cnn'] });
    for (const ue of instance.ues) expect(ue.cuts[0]?.bytes).toBe(3 * 32 * 32 * 4);
  });

  it('rejects bad options with the option named', () => {
    expect(() => generateFleet({ ues: 2, units: 1, seed: 1, models: ['lenet'] })).toThrow(
      /models: unknown model "lenet"/,
    );
    expect(() => generateFleet({ ues: 2, units: 1, seed: 1, models: [] })).toThrow(
      FleetOptionsError,
    );
    expect(() => generateFleet({ ues: 1.5, units: 1, seed: 1 })).toThrow(/^ues: /);
    expect(() => generateFleet({ ues: 1, units: -1, seed: 1 })).toThrow(/^units: /);
    expect(() => generateFleet({ ues: 1, units: 1, seed: 2 ** 32 })).toThrow(/^seed: /);
  });
});

describe('edgesplit fleet generate', () => {
  it('reproduces examples/small-fleet.json', () => {
    const run = runCli(['fleet', 'generate', '--ues', '6', '--units', '8', '--seed', '5']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(readFileSync('examples/small-fleet.json', 'utf8'));
    expect(instanceSchema.safeParse(JSON.parse(run.stdout)).success).toBe(true);
  });

  it.each([
    [['--ues', '6', '--units', '8', '--seed', '1', '--models', 'resnet18,lenet'], /unknown model/],
    [['--ues', '1.5', '--units', '8', '--seed', '1'], /--ues/],
    [['--ues', '6', '--units', 'x', '--seed', '1'], /--units/],
    [['--ues', '6', '--units', '8'], /--seed/],
    [['--ues', '6', '--units', '8', '--seed', '4294967296'], /--seed/],
  ])('exits with 2 on bad flags %j', (args, message) => {
    const run = runCli(['fleet', 'generate', ...args]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });
});
