import {
  adaptiveAvgPool,
  batchnorm,
  conv,
  dropout,
  fc,
  flatten,
  type Layer,
  relu6,
  residual,
} from '../layers.js';
import type { Block, ModelSpec } from '../model-spec.js';

/** The paper's table 2: expansion t, output channels c, repeats n, first stride s. */
const SETTINGS: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

function convBnRelu6(outChannels: number, kernel: number, stride = 1, groups = 1): Layer[] {
  const pad = (kernel - 1) / 2;
  return [conv(outChannels, kernel, { stride, pad, groups, bias: false }), batchnorm(), relu6()];
}

/** torchvision's `InvertedResidual`: 1x1 expand, 3x3 depthwise, linear 1x1 projection. */
function invertedResidual(inChannels: number, outChannels: number, stride: number, t: number) {
  const hidden = Math.round(inChannels * t);
  const body: Layer[] = [
    ...(t === 1 ? [] : convBnRelu6(hidden, 1)),
    ...convBnRelu6(hidden, 3, stride, hidden),
    conv(outChannels, 1, { bias: false }),
    batchnorm(),
  ];
  return stride === 1 && inChannels === outChannels ? [residual(body)] : body;
}

function featureBlocks(): Block[] {
  const blocks: Block[] = [{ name: 'features.0', layers: convBnRelu6(32, 3, 2) }];
  let channels = 32;
  for (const [t, c, n, s] of SETTINGS) {
    for (let k = 0; k < n; k++) {
      const layers = invertedResidual(channels, c, k === 0 ? s : 1, t);
      blocks.push({ name: `features.${blocks.length}`, layers });
      channels = c;
    }
  }
  blocks.push({ name: `features.${blocks.length}`, layers: convBnRelu6(1280, 1) });
  return blocks;
}

/** torchvision's MobileNetV2 (width 1.0); cuts at every module of `features` (torchvision names). */
export const mobilenetV2: ModelSpec = {
  name: 'mobilenet-v2',
  title: 'MobileNetV2',
  reference: 'torchvision.models.mobilenet_v2',
  inputShape: [1, 3, 224, 224],
  blocks: [
    ...featureBlocks(),
    { name: 'pool', layers: [adaptiveAvgPool(1), flatten()] },
    { name: 'classifier', layers: [dropout(0.2), fc(1000)] },
  ],
};
