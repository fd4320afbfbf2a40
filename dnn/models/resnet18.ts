import {
  adaptiveAvgPool,
  batchnorm,
  conv,
  fc,
  flatten,
  type Layer,
  maxpool,
  relu,
  residual,
} from '../layers.js';
import type { Block, ModelSpec } from '../model-spec.js';

/** torchvision's `BasicBlock`: two 3x3 convs; a strided 1x1 conv + BN shortcut when the shape changes. */
function basicBlock(inChannels: number, outChannels: number, stride: number): Layer[] {
  const body = [
    conv(outChannels, 3, { stride, pad: 1, bias: false }),
    batchnorm(),
    relu(),
    conv(outChannels, 3, { pad: 1, bias: false }),
    batchnorm(),
  ];
  const projects = stride !== 1 || inChannels !== outChannels;
  const shortcut = projects ? [conv(outChannels, 1, { stride, bias: false }), batchnorm()] : [];
  return [residual(body, shortcut), relu()];
}

function stageBlocks(): Block[] {
  const blocks: Block[] = [];
  let channels = 64;
  [64, 128, 256, 512].forEach((width, s) => {
    for (let k = 0; k < 2; k++) {
      const stride = s > 0 && k === 0 ? 2 : 1;
      blocks.push({ name: `layer${s + 1}.${k}`, layers: basicBlock(channels, width, stride) });
      channels = width;
    }
  });
  return blocks;
}

/** torchvision's ResNet-18; cuts at the stem, the max pool and every BasicBlock (module names). */
export const resnet18: ModelSpec = {
  name: 'resnet18',
  title: 'ResNet-18',
  reference: 'torchvision.models.resnet18',
  inputShape: [1, 3, 224, 224],
  blocks: [
    {
      name: 'stem',
      layers: [conv(64, 7, { stride: 2, pad: 3, bias: false }), batchnorm(), relu()],
    },
    { name: 'maxpool', layers: [maxpool(3, 2, 1)] },
    ...stageBlocks(),
    { name: 'avgpool', layers: [adaptiveAvgPool(1), flatten()] },
    { name: 'fc', layers: [fc(1000)] },
  ],
};
