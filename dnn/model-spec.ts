import type { Layer } from './layers.js';

/**
 * A named run of layers between two partition points. A model has a cut before its first block
 * (`input`), after each block, and the cut after the last block is `output`.
 */
export interface Block {
  /** Unique in its model; also the name of the cut right after this block (except the last). */
  readonly name: string;
  readonly layers: readonly Layer[];
}

/** One architecture of the zoo, as data: the single source for profiles and graphs. */
export interface ModelSpec {
  /** Zoo id, e.g. `resnet18`: 1-64 characters of `[A-Za-z0-9._-]`. */
  readonly name: string;
  /** Human-readable name, e.g. `ResNet-18`. */
  readonly title: string;
  /** Where the layer shapes come from, e.g. `torchvision.models.resnet18`. */
  readonly reference: string;
  /** Input tensor shape, NCHW with batch 1; the element type is always float32. */
  readonly inputShape: readonly number[];
  readonly blocks: readonly Block[];
}
