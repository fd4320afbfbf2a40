import { EdgesplitError, type ErrorOptions } from '../proto/index.js';
import type { Layer } from './layers.js';

/** Tensor shape with the batch dimension first: `[N, C, H, W]` or `[N, F]`. */
export type Shape = readonly number[];

/**
 * What running some layers costs, for the batch in the input shape.
 * FLOP rules: 2 per multiply-accumulate in conv and fc; 1 per output element for relu, relu6,
 * batchnorm and residual adds; the window area per output element for pools; 3 per element for
 * softmax (exp, sum, divide) and 2·size for LRN. Bias adds, dropout, flatten and concat are free.
 */
export interface LayerCost {
  readonly shape: Shape;
  readonly flops: number;
  /** Multiply-accumulates of conv and fc layers only: the figure papers quote as "FLOPs". */
  readonly macs: number;
  /** Learnable parameters, as PyTorch's `parameters()` counts them (BN: scale and shift). */
  readonly params: number;
}

/** A layer that does not fit its input; the caller adds the model and block. */
export class LayerShapeError extends EdgesplitError<'MODEL_SHAPE'> {
  constructor(message: string, options?: ErrorOptions) {
    super('MODEL_SHAPE', message, options);
    this.name = 'LayerShapeError';
  }
}

export const elementCount = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

function spatial(shape: Shape, op: string): [number, number, number, number] {
  const [n, c, h, w] = shape;
  if (
    shape.length !== 4 ||
    n === undefined ||
    c === undefined ||
    h === undefined ||
    w === undefined
  )
    throw new LayerShapeError(`${op} needs an [N, C, H, W] input, got [${shape.join(', ')}]`);
  return [n, c, h, w];
}

function flat(shape: Shape, op: string): [number, number] {
  const [n, f] = shape;
  if (shape.length !== 2 || n === undefined || f === undefined)
    throw new LayerShapeError(`${op} needs a flat [N, F] input, got [${shape.join(', ')}]`);
  return [n, f];
}

function windowOut(size: number, kernel: number, stride: number, pad: number, ceil: boolean) {
  const span = size + 2 * pad - kernel;
  if (span < 0) throw new LayerShapeError(`window ${kernel} does not fit ${size} (pad ${pad})`);
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // PyTorch: with ceil mode, the last window must start inside the input or the left padding.
  if (ceil && (out - 1) * stride >= size + pad) out -= 1;
  return out;
}

/** Sum over the output cells of PyTorch's adaptive window lengths along one axis. */
function adaptiveWindowSum(size: number, out: number): number {
  let sum = 0;
  for (let i = 0; i < out; i++) {
    sum += Math.ceil(((i + 1) * size) / out) - Math.floor((i * size) / out);
  }
  return sum;
}

const free = (shape: Shape): LayerCost => ({ shape, flops: 0, macs: 0, params: 0 });
const perElement = (shape: Shape, k = 1): LayerCost => ({
  shape,
  flops: k * elementCount(shape),
  macs: 0,
  params: 0,
});

/** Output shape and cost of one layer on `input`; throws {@link LayerShapeError}. */
export function layerCost(layer: Layer, input: Shape): LayerCost {
  switch (layer.op) {
    case 'conv': {
      const [n, c, h, w] = spatial(input, 'conv');
      const { outChannels: o, kernel: k, stride, pad, groups: g } = layer;
      if (c % g !== 0 || o % g !== 0)
        throw new LayerShapeError(`conv groups ${g} must divide channels ${c} -> ${o}`);
      const shape = [
        n,
        o,
        windowOut(h, k, stride, pad, false),
        windowOut(w, k, stride, pad, false),
      ];
      const macs = elementCount(shape) * (c / g) * k * k;
      const params = o * (c / g) * k * k + (layer.bias ? o : 0);
      return { shape, flops: 2 * macs, macs, params };
    }
    case 'batchnorm': {
      const c = input[1];
      if (c === undefined) throw new LayerShapeError('batchnorm needs a channel axis');
      return { ...perElement(input), params: 2 * c };
    }
    case 'relu':
    case 'relu6':
      return perElement(input);
    case 'maxpool': {
      const [n, c, h, w] = spatial(input, 'maxpool');
      const { kernel: k, stride, pad, ceilMode } = layer;
      const shape = [
        n,
        c,
        windowOut(h, k, stride, pad, ceilMode),
        windowOut(w, k, stride, pad, ceilMode),
      ];
      return perElement(shape, k * k);
    }
    case 'adaptive-avgpool': {
      const [n, c, h, w] = spatial(input, 'adaptive-avgpool');
      const o = layer.outSize;
      const flops = n * c * adaptiveWindowSum(h, o) * adaptiveWindowSum(w, o);
      return { shape: [n, c, o, o], flops, macs: 0, params: 0 };
    }
    case 'lrn':
      spatial(input, 'lrn');
      return perElement(input, 2 * layer.size);
    case 'dropout':
      return free(input);
    case 'flatten': {
      const [n] = input;
      if (n === undefined || input.length < 2) throw new LayerShapeError('flatten needs rank >= 2');
      return free([n, elementCount(input) / n]);
    }
    case 'fc': {
      const [n, f] = flat(input, 'fc');
      const o = layer.outFeatures;
      const macs = n * f * o;
      return { shape: [n, o], flops: 2 * macs, macs, params: f * o + (layer.bias ? o : 0) };
    }
    case 'residual': {
      const body = layersCost(layer.body, input);
      const shortcut = layersCost(layer.shortcut, input);
      if (body.shape.join() !== shortcut.shape.join())
        throw new LayerShapeError(
          `residual body [${body.shape.join(', ')}] != shortcut [${shortcut.shape.join(', ')}]`,
        );
      const sum = sumCosts([body, shortcut]);
      return { ...sum, flops: sum.flops + elementCount(body.shape), shape: body.shape };
    }
    case 'concat': {
      spatial(input, 'concat');
      const parts = layer.branches.map((branch) => layersCost(branch, input));
      const first = parts[0];
      if (first === undefined) throw new LayerShapeError('concat needs at least one branch');
      const [n, , h, w] = spatial(first.shape, 'concat branch');
      let channels = 0;
      for (const part of parts) {
        const [bn, bc, bh, bw] = spatial(part.shape, 'concat branch');
        if (bn !== n || bh !== h || bw !== w)
          throw new LayerShapeError(
            `concat branches differ in N, H or W: [${part.shape.join(', ')}] vs [${first.shape.join(', ')}]`,
          );
        channels += bc;
      }
      return { ...sumCosts(parts), shape: [n, channels, h, w] };
    }
    case 'softmax':
      flat(input, 'softmax');
      return perElement(input, 3);
  }
}

function sumCosts(costs: readonly LayerCost[]): Omit<LayerCost, 'shape'> {
  let flops = 0;
  let macs = 0;
  let params = 0;
  for (const cost of costs) {
    flops += cost.flops;
    macs += cost.macs;
    params += cost.params;
  }
  return { flops, macs, params };
}

/** Output shape and summed cost of `layers` run in order on `input`. */
export function layersCost(layers: readonly Layer[], input: Shape): LayerCost {
  let shape = input;
  const costs: LayerCost[] = [];
  for (const layer of layers) {
    const cost = layerCost(layer, shape);
    costs.push(cost);
    shape = cost.shape;
  }
  return { ...sumCosts(costs), shape };
}
