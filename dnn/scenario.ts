import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { EdgesplitError, type ErrorOptions, MAX_BATCH } from '../proto/index.js';
import { issuesOf } from '../proto/validate.js';
import { asError } from '../runtime/as-error.js';
import { CATALOG_DEVICE_IDS, DEVICE_CLASSES } from './device-classes.js';
import { LINK_CLASSES } from './link-classes.js';
import { hasModel, listModels, REAL_MODELS } from './zoo.js';

/**
 * What `fleet generate` draws a fleet from: each UE gets the next model (round-robin) and a
 * device, a link and a batch drawn uniformly from these lists (list an entry twice to draw it
 * twice as often), with link rates and RTT scaled by a factor from [1 − J, 1 + J].
 */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Zoo models handed out round-robin; absent: every real model. */
  readonly models?: readonly string[] | undefined;
  /** Device class ids (dnn/device-classes.ts). */
  readonly devices: readonly string[];
  /** Link class ids (dnn/link-classes.ts). */
  readonly links: readonly string[];
  /** Samples per task. */
  readonly batches: readonly number[];
  /** J above. */
  readonly linkJitter: number;
  /** Edge units per UE: R = round(N × this) when no unit count is given; absent: one must be. */
  readonly unitsPerUe?: number | undefined;
}

const deviceIds = DEVICE_CLASSES.map((d) => d.id);
const linkIds = LINK_CLASSES.map((l) => l.id);

const oneOf = (known: readonly string[], what: string) =>
  z.string().refine((id) => known.includes(id), {
    error: (issue) =>
      `unknown ${what} ${JSON.stringify(String(issue.input).slice(0, 64))} (known: ${known.join(', ')})`,
  });

/** The scenario file's format (JSON); every field but `name`, `devices`, `links`, `batches` optional. */
export const scenarioSchema = z
  .object({
    name: z.string().min(1).max(64),
    description: z.string().max(2000).default(''),
    models: z
      .array(
        z.string().refine(hasModel, {
          error: (issue) =>
            `unknown model ${JSON.stringify(String(issue.input).slice(0, 64))} (known: ${listModels().join(', ')})`,
        }),
      )
      .min(1)
      .max(64)
      .optional(),
    devices: z.array(oneOf(deviceIds, 'device class')).min(1).max(1000),
    links: z.array(oneOf(linkIds, 'link class')).min(1).max(1000),
    batches: z.array(z.number().int().min(1).max(MAX_BATCH)).min(1).max(1000),
    linkJitter: z.number().min(0).max(0.9).default(0.2),
    unitsPerUe: z.number().min(0).max(1000).optional(),
  })
  .strict();

/** The original catalog: what `fleet generate` draws without `--scenario`. */
export const CATALOG_SCENARIO: Scenario = {
  name: 'catalog',
  description:
    'Every real zoo model, the four original device classes (Raspberry Pi 3 B+ and 4, a ' +
    'mid-range phone, Jetson Nano), every link class, batches 1, 2, 4 or 8. Most such fleets ' +
    'are pinned: one UE alone decides the maximum whatever the units.',
  models: REAL_MODELS,
  devices: CATALOG_DEVICE_IDS,
  links: linkIds,
  batches: [1, 2, 4, 8],
  linkJitter: 0.2,
};

/** Fleets whose maximum the edge units decide (not pinned), with offloading UEs. */
export const CONTENDED_SCENARIO: Scenario = {
  name: 'contended',
  description:
    'Cameras much slower than an edge unit (Raspberry Pi Zero 2 W and Zero W, 25x and 200x ' +
    'slower than one unit) on links where offloading pays (5G, Wi-Fi), running the lighter ' +
    'zoo models (ResNet-18, MobileNetV2, SqueezeNet 1.1, AlexNet) on batches of 4 or 8, with ' +
    'one edge unit per UE where each could use 4 or 8: the units decide the maximum.',
  models: ['resnet18', 'mobilenet-v2', 'squeezenet1.1', 'alexnet'],
  devices: ['rpi-zero2-cpu', 'rpi-zero-cpu'],
  links: ['5g', 'wifi'],
  batches: [4, 8],
  linkJitter: 0.2,
  unitsPerUe: 1,
};

/** The named scenarios of `fleet generate --scenario NAME`. */
export const SCENARIOS: ReadonlyMap<string, Scenario> = new Map(
  [CATALOG_SCENARIO, CONTENDED_SCENARIO].map((s) => [s.name, s]),
);

export const SCENARIO_NAMES: readonly string[] = [...SCENARIOS.keys()];

/** A scenario's problem: which file or name, and every bad field. */
export class ScenarioError extends EdgesplitError<'INVALID_SCENARIO'> {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_SCENARIO', message, options);
    this.name = 'ScenarioError';
  }
}

/** Validates a parsed scenario file; throws {@link ScenarioError} naming every bad field. */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = issuesOf('', parsed.error).map((line) => `  ${line}`);
  throw new ScenarioError(`${source}: invalid scenario:\n${lines.join('\n')}`);
}

/** A preset by name, or else a JSON scenario file at that path. */
export async function loadScenario(nameOrFile: string): Promise<Scenario> {
  const preset = SCENARIOS.get(nameOrFile);
  if (preset !== undefined) return preset;
  let text: string;
  try {
    text = await readFile(nameOrFile, 'utf8');
  } catch (error) {
    const reason = asError(error).message;
    throw new ScenarioError(
      `${nameOrFile}: neither a scenario (${SCENARIO_NAMES.join(', ')}) nor a readable file: ${reason}`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = asError(error).message;
    throw new ScenarioError(`${nameOrFile}: not valid JSON: ${reason}`, { cause: error });
  }
  return parseScenario(json, nameOrFile);
}
