import { adaptiveAvgPool, conv, dropout, fc, flatten, maxpool, relu } from '../layers.js';
import type { Block, ModelSpec } from '../model-spec.js';

/** Configuration "D" of the VGG paper: conv widths per stage, each stage ending in a 2x2 max pool. */
const STAGES: readonly (readonly number[])[] = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];

function featureBlocks(): Block[] {
  const blocks: Block[] = [];
  STAGES.forEach((widths, s) => {
    widths.forEach((width, k) => {
      blocks.push({ name: `conv${s + 1}_${k + 1}`, layers: [conv(width, 3, { pad: 1 }), relu()] });
    });
    const last = s === STAGES.length - 1;
    blocks.push({
      name: `pool${s + 1}`,
      // torchvision's adaptive pool is the identity at 224x224; it lives with the last pool.
      layers: last ? [maxpool(2, 2), adaptiveAvgPool(7), flatten()] : [maxpool(2, 2)],
    });
  });
  return blocks;
}

/** torchvision's VGG-16 without batch normalisation; a cut after every conv, pool and fc. */
export const vgg16: ModelSpec = {
  name: 'vgg16',
  title: 'VGG-16',
  reference: 'torchvision.models.vgg16',
  inputShape: [1, 3, 224, 224],
  blocks: [
    ...featureBlocks(),
    { name: 'fc6', layers: [fc(4096), relu(), dropout(0.5)] },
    { name: 'fc7', layers: [fc(4096), relu(), dropout(0.5)] },
    { name: 'fc8', layers: [fc(1000)] },
  ],
};
