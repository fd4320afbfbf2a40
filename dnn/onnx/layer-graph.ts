import { defined } from '../../runtime/defined.js';
import { LayerShapeError, layerCost } from '../layer-cost.js';
import type { Layer } from '../layers.js';
import { floatAttribute, type GraphBuilder, type Value } from './graph-builder.js';

/**
 * Initial values that keep activations near unit scale through any depth: He-uniform weights
 * (variance 2 / fan-in, which ReLU halves back), small biases, and batch norms that are close
 * to the identity but not exactly it, so a wrong parameter would still show in the output.
 */
const BIAS_SPREAD = 0.05;
const BN_SPREAD = 0.1;
const heSpread = (fanIn: number): number => Math.sqrt(6 / fanIn);

/**
 * Scale of the last weighted layer of each residual branch: the add would otherwise double the
 * variance at every block (the idea behind "zero-init residual", without switching it off).
 */
const RESIDUAL_GAIN = 0.5;

const WEIGHTED: ReadonlySet<Layer['op']> = new Set(['conv', 'fc', 'batchnorm']);

function emitLayer(g: GraphBuilder, layer: Layer, x: Value, name: string, gain: number): Value {
  const shape = layerCost(layer, x.shape).shape;
  const out = (tensor: string): Value => ({ name: tensor, shape });
  switch (layer.op) {
    case 'conv': {
      const inChannels = defined(x.shape[1], `the channels of ${name}'s input`);
      const perGroup = inChannels / layer.groups;
      const fanIn = perGroup * layer.kernel * layer.kernel;
      const dims = [layer.outChannels, perGroup, layer.kernel, layer.kernel];
      const inputs = [x.name, g.weight(`${name}.weight`, dims, gain * heSpread(fanIn))];
      if (layer.bias) inputs.push(g.weight(`${name}.bias`, [layer.outChannels], BIAS_SPREAD));
      const { kernel, stride, pad, groups } = layer;
      return out(
        g.node('Conv', name, inputs, {
          kernel_shape: [kernel, kernel],
          strides: [stride, stride],
          pads: [pad, pad, pad, pad],
          group: groups,
        }),
      );
    }
    case 'batchnorm': {
      const c = [defined(x.shape[1], `the channels of ${name}'s input`)];
      const inputs = [
        x.name,
        g.weight(`${name}.scale`, c, gain * BN_SPREAD, gain),
        g.weight(`${name}.bias`, c, BIAS_SPREAD),
        g.weight(`${name}.running_mean`, c, BIAS_SPREAD),
        g.weight(`${name}.running_var`, c, BN_SPREAD, 1),
      ];
      return out(
        g.node('BatchNormalization', name, inputs, { epsilon: floatAttribute(layer.eps) }),
      );
    }
    case 'relu':
      return out(g.node('Relu', name, [x.name]));
    case 'relu6':
      return out(g.node('Clip', name, [x.name, g.scalar(0), g.scalar(6)]));
    case 'maxpool': {
      const { kernel, stride, pad, ceilMode } = layer;
      return out(
        g.node('MaxPool', name, [x.name], {
          kernel_shape: [kernel, kernel],
          strides: [stride, stride],
          pads: [pad, pad, pad, pad],
          ceil_mode: ceilMode ? 1 : 0,
        }),
      );
    }
    case 'adaptive-avgpool':
      return adaptiveAvgPool(g, x, layer.outSize, name);
    case 'lrn': {
      const { size, alpha, beta, k } = layer;
      return out(
        g.node('LRN', name, [x.name], {
          size,
          alpha: floatAttribute(alpha),
          beta: floatAttribute(beta),
          bias: floatAttribute(k),
        }),
      );
    }
    case 'dropout':
      return x;
    case 'flatten':
      return out(g.node('Flatten', name, [x.name], { axis: 1 }));
    case 'fc': {
      const features = defined(x.shape[1], `the features of ${name}'s input`);
      const dims = [layer.outFeatures, features];
      const inputs = [x.name, g.weight(`${name}.weight`, dims, gain * heSpread(features))];
      if (layer.bias) inputs.push(g.weight(`${name}.bias`, [layer.outFeatures], BIAS_SPREAD));
      return out(g.node('Gemm', name, inputs, { transB: 1 }));
    }
    case 'residual': {
      const body = emitLayers(g, layer.body, x, `${name}/body/`, RESIDUAL_GAIN);
      const shortcut = emitLayers(g, layer.shortcut, x, `${name}/shortcut/`, RESIDUAL_GAIN);
      return out(g.node('Add', name, [body.name, shortcut.name]));
    }
    case 'concat': {
      const branches = layer.branches.map((branch, b) => emitLayers(g, branch, x, `${name}/${b}/`));
      return out(
        g.node(
          'Concat',
          name,
          branches.map((branch) => branch.name),
          { axis: 1 },
        ),
      );
    }
    case 'softmax':
      return out(g.node('Softmax', name, [x.name], { axis: -1 }));
  }
}

/** PyTorch's adaptive average pool where ONNX has an equivalent: global, even windows, identity. */
function adaptiveAvgPool(g: GraphBuilder, x: Value, outSize: number, name: string): Value {
  const [n, c, h, w] = x.shape;
  if (n === undefined || c === undefined || h === undefined || w === undefined)
    throw new LayerShapeError('adaptive-avgpool needs an [N, C, H, W] input');
  const shape = [n, c, outSize, outSize];
  if (h === outSize && w === outSize) return x;
  if (outSize === 1) return { name: g.node('GlobalAveragePool', name, [x.name]), shape };
  if (h % outSize !== 0 || w % outSize !== 0)
    throw new LayerShapeError(
      `adaptive-avgpool ${h}x${w} -> ${outSize}x${outSize} has uneven windows, which ONNX cannot express as one pool`,
    );
  const kernel = [h / outSize, w / outSize];
  return {
    name: g.node('AveragePool', name, [x.name], { kernel_shape: kernel, strides: kernel }),
    shape,
  };
}

/**
 * Emits `layers` in order on `x`; every node and weight is named `${scope}${index}.${op}`.
 * Layers that are the identity at inference (dropout, a pool to the same size) add no node.
 * `lastGain` scales the initial values of the last conv, fc or batch norm.
 */
export function emitLayers(
  g: GraphBuilder,
  layers: readonly Layer[],
  x: Value,
  scope: string,
  lastGain = 1,
): Value {
  const last = layers.findLastIndex((layer) => WEIGHTED.has(layer.op));
  let value = x;
  layers.forEach((layer, index) => {
    const gain = index === last ? lastGain : 1;
    value = emitLayer(g, layer, value, `${scope}${index}.${layer.op}`, gain);
  });
  return value;
}
