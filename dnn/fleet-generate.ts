import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { mersenne } from 'pure-rand/generator/mersenne';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { MAX_UNITS } from '../proto/index.js';
import type { Cut } from '../proto/schemas/cuts.js';
import { defined, mapGet } from '../runtime/defined.js';
import type { InstanceInput } from '../scheduler/instance-schema.js';
import { DEVICE_CLASSES, type DeviceClass } from './device-classes.js';
import { EDGE_UNIT } from './edge-unit.js';
import { FleetOptionsError, UnknownModelError } from './errors.js';
import { LINK_CLASSES, type LinkClass } from './link-classes.js';
import { CATALOG_SCENARIO, type Scenario } from './scenario.js';
import { getModelProfile, hasModel, listModels, REAL_MODELS } from './zoo.js';

/** Options of {@link generateFleet}. */
export interface FleetOptions {
  /** Number of UEs, 0 to {@link MAX_FLEET_UES}. */
  readonly ues: number;
  /**
   * Edge units `R` of the instance, 0 to `MAX_UNITS`.
   * @defaultValue round(ues × the scenario's `unitsPerUe`); required if the scenario has none
   */
  readonly units?: number;
  /** PRNG seed, an integer from 0 to 2^32 − 1: the same seed gives the same fleet. */
  readonly seed: number;
  /**
   * Zoo models handed out round-robin, in this order.
   * @defaultValue the scenario's models, else {@link REAL_MODELS} (every real model, not `tiny-cnn`)
   */
  readonly models?: readonly string[];
  /**
   * What devices, links and batches are drawn from (dnn/scenario.ts).
   * @defaultValue the `catalog` scenario
   */
  readonly scenario?: Scenario;
}

/** What the generator drew for one UE; the instance itself keeps only the solver's inputs. */
export interface FleetMember {
  readonly id: string;
  readonly model: string;
  readonly device: string;
  readonly link: string;
}

export interface FleetPlan {
  readonly instance: InstanceInput;
  /** One entry per UE, in the order of `instance.ues`. */
  readonly members: readonly FleetMember[];
}

export const MAX_FLEET_UES = 1_000_000;
export const MAX_SEED = 0xffff_ffff;
/** Samples per task are drawn uniformly from these (the `catalog` scenario). */
export const BATCH_SIZES: readonly number[] = CATALOG_SCENARIO.batches;
/** Link rates and RTT are scaled by a factor drawn uniformly from [1 − J, 1 + J] (`catalog`). */
export const LINK_JITTER = CATALOG_SCENARIO.linkJitter;

interface CutTemplate {
  readonly name: string;
  readonly bytes: number;
  readonly flopsBefore: number;
  readonly edgeMs: number;
}

interface ModelTemplate {
  readonly cuts: readonly CutTemplate[];
  readonly resultBytes: number;
}

/** A model's cut table with edge times, computed once per model and call. */
function modelTemplate(name: string): ModelTemplate {
  const profile = getModelProfile(name);
  return {
    resultBytes: profile.outputBytes,
    cuts: profile.cuts.map((cut) => ({
      name: cut.name,
      bytes: cut.bytes,
      flopsBefore: cut.flopsBefore,
      edgeMs: cut.flopsAfter / (EDGE_UNIT.gflops * 1e6),
    })),
  };
}

function unitsOf(options: FleetOptions, scenario: Scenario): number {
  if (options.units !== undefined) return options.units;
  if (scenario.unitsPerUe === undefined)
    throw new FleetOptionsError(
      'units',
      `is required: scenario "${scenario.name}" has no unitsPerUe`,
    );
  return Math.round(options.ues * scenario.unitsPerUe);
}

function deviceClass(id: string): DeviceClass {
  const found = DEVICE_CLASSES.find((d) => d.id === id);
  if (found === undefined) throw new FleetOptionsError('scenario', `unknown device class "${id}"`);
  return found;
}

function linkClass(id: string): LinkClass {
  const found = LINK_CLASSES.find((l) => l.id === id);
  if (found === undefined) throw new FleetOptionsError('scenario', `unknown link class "${id}"`);
  return found;
}

function checkInteger(option: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > max)
    throw new FleetOptionsError(option, `must be an integer from 0 to ${max}, got ${value}`);
}

function checkedModels(models: readonly string[] | undefined): readonly string[] {
  if (models === undefined) return REAL_MODELS;
  if (models.length === 0) throw new FleetOptionsError('models', 'must name at least one model');
  for (const model of models) {
    if (!hasModel(model))
      throw new FleetOptionsError('models', new UnknownModelError(model, listModels()).message);
  }
  return models;
}

function pick<T>(rng: RandomGenerator, items: readonly T[]): T {
  return defined(items[uniformInt(rng, 0, items.length - 1)], 'an item to pick from');
}

function jitter(rng: RandomGenerator, amount: number, value: number, decimals: number): number {
  const factor = 1 - amount + 2 * amount * uniformFloat64(rng);
  const scale = 10 ** decimals;
  return Math.round(value * factor * scale) / scale;
}

function deviceCuts(template: ModelTemplate, device: DeviceClass): Cut[] {
  return template.cuts.map((cut) => ({
    name: cut.name,
    deviceMs: cut.flopsBefore / (device.gflops * 1e6),
    bytes: cut.bytes,
    edgeMs: cut.edgeMs,
  }));
}

/**
 * Draws a fleet of UEs running zoo models on catalog devices and links: models round-robin,
 * device, link, batch and ±20% link jitter from a seeded PRNG. Deterministic for a seed.
 * Throws {@link FleetOptionsError} on out-of-range options or an unknown model.
 */
export function planFleet(options: FleetOptions): FleetPlan {
  const scenario = options.scenario ?? CATALOG_SCENARIO;
  checkInteger('ues', options.ues, MAX_FLEET_UES);
  const units = unitsOf(options, scenario);
  checkInteger('units', units, MAX_UNITS);
  checkInteger('seed', options.seed, MAX_SEED);
  const models = checkedModels(options.models ?? scenario.models);
  const devices = scenario.devices.map(deviceClass);
  const links = scenario.links.map(linkClass);
  const templates = new Map(models.map((name) => [name, modelTemplate(name)]));
  const rng = mersenne(options.seed);
  const width = Math.max(4, String(options.ues).length);

  const ues: InstanceInput['ues'] = [];
  const members: FleetMember[] = [];
  for (let i = 0; i < options.ues; i++) {
    const id = `ue-${String(i + 1).padStart(width, '0')}`;
    const model = defined(models[i % models.length], 'a model to assign (the list is empty)');
    const template = mapGet(templates, model, `the template of model "${model}"`);
    // Draw order is part of the format: changing it changes every generated fleet.
    const device = pick(rng, devices);
    const link: LinkClass = pick(rng, links);
    const batch = pick(rng, scenario.batches);
    const uplinkMbps = jitter(rng, scenario.linkJitter, link.uplinkMbps, 3);
    const downlinkMbps = jitter(rng, scenario.linkJitter, link.downlinkMbps, 3);
    const rttMs = jitter(rng, scenario.linkJitter, link.rttMs, 2);
    ues.push({
      id,
      batch,
      uplinkMbps,
      rttMs,
      resultBytes: template.resultBytes,
      downlinkMbps,
      cuts: deviceCuts(template, device),
    });
    members.push({ id, model, device: device.id, link: link.id });
  }
  return { instance: { edge: { units }, ues }, members };
}

/** The instance (docs/model.md's file format) of {@link planFleet}. */
export function generateFleet(options: FleetOptions): InstanceInput {
  return planFleet(options).instance;
}
