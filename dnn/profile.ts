import { defined } from '../runtime/defined.js';
import { ModelShapeError } from './errors.js';
import { elementCount, LayerShapeError, layersCost, type Shape } from './layer-cost.js';
import type { ModelSpec } from './model-spec.js';

/** Every tensor in the zoo is float32. */
export const BYTES_PER_ELEMENT = 4;

export interface BlockProfile {
  readonly name: string;
  readonly inputShape: Shape;
  readonly outputShape: Shape;
  /** FLOPs of the block (see `LayerCost` for the counting rules). */
  readonly flops: number;
  /** Multiply-accumulates of its conv and fc layers. */
  readonly macs: number;
  readonly params: number;
}

/** A partition point: what crosses it, and the compute on either side (batch 1). */
export interface CutProfile {
  /** `input`, then the name of the block just before the cut; the last cut is `output`. */
  readonly name: string;
  readonly shape: Shape;
  /** Bytes of the float32 tensor crossing the cut. */
  readonly bytes: number;
  /** FLOPs of all blocks before the cut: 0 at `input`. */
  readonly flopsBefore: number;
  /** FLOPs of all blocks after the cut: 0 at `output`. */
  readonly flopsAfter: number;
}

export interface ModelProfile {
  readonly name: string;
  readonly blocks: readonly BlockProfile[];
  /** `blocks.length + 1` cuts, in execution order. */
  readonly cuts: readonly CutProfile[];
  readonly totalFlops: number;
  readonly totalMacs: number;
  readonly paramCount: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
}

/**
 * Walks a model table once: shapes, FLOPs, MACs and parameters per block, and the cut list.
 * Throws {@link ModelShapeError} if the layers do not fit together.
 */
export function profileModel(spec: ModelSpec): ModelProfile {
  if (spec.blocks.length === 0) throw new ModelShapeError(spec.name, '(none)', 'has no blocks');
  const blocks: BlockProfile[] = [];
  const names = new Set(['input', 'output']);
  let shape = spec.inputShape;
  for (const block of spec.blocks) {
    if (names.has(block.name))
      throw new ModelShapeError(spec.name, block.name, 'block name is not unique');
    names.add(block.name);
    let cost: ReturnType<typeof layersCost>;
    try {
      cost = layersCost(block.layers, shape);
    } catch (error) {
      if (error instanceof LayerShapeError)
        throw new ModelShapeError(spec.name, block.name, error.message);
      throw error;
    }
    const { flops, macs, params } = cost;
    blocks.push({
      name: block.name,
      inputShape: shape,
      outputShape: cost.shape,
      flops,
      macs,
      params,
    });
    shape = cost.shape;
  }

  const totalFlops = sum(blocks.map((b) => b.flops));
  const cuts: CutProfile[] = [];
  let before = 0;
  for (let p = 0; p <= blocks.length; p++) {
    const block = blocks[p - 1]; // the block before cut p: none before the input
    const cutShape = block === undefined ? spec.inputShape : block.outputShape;
    const name = block === undefined ? 'input' : p === blocks.length ? 'output' : block.name;
    if (block !== undefined) before += block.flops;
    // Summing the remaining blocks (not total − before) makes the last flopsAfter exactly 0.
    const after = sum(blocks.slice(p).map((b) => b.flops));
    cuts.push({
      name,
      shape: cutShape,
      bytes: elementCount(cutShape) * BYTES_PER_ELEMENT,
      flopsBefore: before,
      flopsAfter: after,
    });
  }
  return {
    name: spec.name,
    blocks,
    cuts,
    totalFlops,
    totalMacs: sum(blocks.map((b) => b.macs)),
    paramCount: sum(blocks.map((b) => b.params)),
    inputBytes: defined(cuts[0], `the input cut of ${spec.name}`).bytes,
    outputBytes: defined(cuts.at(-1), `the output cut of ${spec.name}`).bytes,
  };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
