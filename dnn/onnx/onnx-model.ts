import type { Shape } from '../layer-cost.js';
import type { onnx } from './schema.js';

/** A partition point of an ONNX model: the one activation tensor alive there. */
export interface OnnxCut {
  /** `input`, the name of the node producing the tensor, or `output` for the last cut. */
  readonly name: string;
  /** The tensor's name in the graph. */
  readonly tensor: string;
  /** Its shape for one sample (batch dimension 1). */
  readonly shape: Shape;
  /** Bytes of the float32 tensor. */
  readonly bytes: number;
}

/**
 * A model ready to be split: a zoo model built from its table or an imported file. Its weights
 * live in one file in `dir` that the graph's initializers (and every segment's) point into.
 */
export interface OnnxModel {
  /** Zoo id, or the imported file's base name. */
  readonly name: string;
  /** Folder with `model.onnx`, the weights file and the cut list. */
  readonly dir: string;
  /** The whole graph in topological order, large initializers stored externally. */
  readonly proto: onnx.IModelProto;
  /** Cuts in execution order: `input` first, `output` last. */
  readonly cuts: readonly OnnxCut[];
}
