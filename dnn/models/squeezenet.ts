import {
  adaptiveAvgPool,
  concat,
  conv,
  dropout,
  flatten,
  type Layer,
  maxpool,
  relu,
} from '../layers.js';
import type { ModelSpec } from '../model-spec.js';

/** A fire module: 1x1 squeeze, then 1x1 and 3x3 expand branches concatenated along channels. */
function fire(squeeze: number, expand1x1: number, expand3x3: number): Layer[] {
  return [
    conv(squeeze, 1),
    relu(),
    concat([conv(expand1x1, 1), relu()], [conv(expand3x3, 3, { pad: 1 }), relu()]),
  ];
}

const pool = () => maxpool(3, 2, 0, true);

/** torchvision's SqueezeNet 1.1; cuts after every fire module and pool (paper-style names). */
export const squeezenet11: ModelSpec = {
  name: 'squeezenet1.1',
  title: 'SqueezeNet 1.1',
  reference: 'torchvision.models.squeezenet1_1',
  inputShape: [1, 3, 224, 224],
  blocks: [
    { name: 'conv1', layers: [conv(64, 3, { stride: 2 }), relu()] },
    { name: 'pool1', layers: [pool()] },
    { name: 'fire2', layers: fire(16, 64, 64) },
    { name: 'fire3', layers: fire(16, 64, 64) },
    { name: 'pool3', layers: [pool()] },
    { name: 'fire4', layers: fire(32, 128, 128) },
    { name: 'fire5', layers: fire(32, 128, 128) },
    { name: 'pool5', layers: [pool()] },
    { name: 'fire6', layers: fire(48, 192, 192) },
    { name: 'fire7', layers: fire(48, 192, 192) },
    { name: 'fire8', layers: fire(64, 256, 256) },
    { name: 'fire9', layers: fire(64, 256, 256) },
    {
      name: 'conv10',
      layers: [dropout(0.5), conv(1000, 1), relu(), adaptiveAvgPool(1), flatten()],
    },
  ],
};
