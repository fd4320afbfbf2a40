import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSpec } from '../model-spec.js';
import { profileModel } from '../profile.js';
import { getModel } from '../zoo.js';
import {
  ensureStored,
  modelStoreRoot,
  readStoredModel,
  WEIGHTS_FILE,
  writeStoredModel,
} from './model-store.js';
import type { OnnxCut, OnnxModel } from './onnx-model.js';
import { WeightFile } from './weight-file.js';
import { buildZooGraph, ZOO_GRAPH_VERSION } from './zoo-graph.js';

/** Seed of the weights when none is given. */
export const DEFAULT_WEIGHT_SEED = 1;

export interface ZooModelOptions {
  /** Seed of the generated weights. @defaultValue {@link DEFAULT_WEIGHT_SEED} */
  readonly seed?: number;
  /** Folder of the model store. @defaultValue {@link modelStoreRoot}() */
  readonly root?: string;
}

/** The zoo table's cuts, with each cut's tensor named after the cut. */
export function zooCuts(spec: ModelSpec): OnnxCut[] {
  return profileModel(spec).cuts.map(({ name, shape, bytes }) => ({
    name,
    tensor: name,
    shape,
    bytes,
  }));
}

/**
 * Store key of a zoo model: its id, the seed, the graph version and a digest of its layer
 * table, so that editing a table or the graph construction never reuses a stale file.
 */
export function zooModelKey(spec: ModelSpec, seed: number): string {
  const digest = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 12);
  return `${spec.name}-seed${seed}-g${ZOO_GRAPH_VERSION}-${digest}`;
}

/**
 * A zoo model as an ONNX graph with seeded weights: built on first use (VGG-16 writes 553 MB)
 * and kept in the model store, then read back in milliseconds.
 */
export function loadZooModel(name: string, options: ZooModelOptions = {}): Promise<OnnxModel> {
  return loadSpecModel(getModel(name), options);
}

/** {@link loadZooModel} for any layer table, e.g. one that is not (yet) in the zoo. */
export async function loadSpecModel(
  spec: ModelSpec,
  options: ZooModelOptions = {},
): Promise<OnnxModel> {
  const seed = options.seed ?? DEFAULT_WEIGHT_SEED;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const cuts = zooCuts(spec);
  const root = options.root ?? modelStoreRoot();
  const dir = await ensureStored(root, zooModelKey(spec, seed), async (tmp) => {
    const fd = openSync(join(tmp, WEIGHTS_FILE), 'w');
    let proto: ReturnType<typeof buildZooGraph>;
    try {
      proto = buildZooGraph(spec, seed, new WeightFile(fd, WEIGHTS_FILE));
    } finally {
      closeSync(fd);
    }
    await writeStoredModel(tmp, spec.name, proto, cuts);
  });
  return readStoredModel(dir);
}
