import {
  adaptiveAvgPool,
  batchnorm,
  conv,
  fc,
  flatten,
  maxpool,
  relu,
  residual,
} from '../layers.js';
import type { ModelSpec } from '../model-spec.js';

/**
 * A few small layers on a 3x32x32 input, for fast tests: every op kind the real models use
 * except depthwise convs and concat appears here, including a residual block.
 */
export const tinyCnn: ModelSpec = {
  name: 'tiny-cnn',
  title: 'Tiny CNN',
  reference: 'edgesplit test model (no pretrained weights)',
  inputShape: [1, 3, 32, 32],
  blocks: [
    { name: 'conv1', layers: [conv(8, 3, { pad: 1, bias: false }), batchnorm(), relu()] },
    { name: 'pool1', layers: [maxpool(2, 2)] },
    { name: 'conv2', layers: [conv(16, 3, { pad: 1 }), relu()] },
    {
      name: 'res3',
      layers: [residual([conv(16, 3, { pad: 1, bias: false }), batchnorm(), relu()]), relu()],
    },
    { name: 'pool3', layers: [maxpool(2, 2)] },
    { name: 'conv4', layers: [conv(32, 3, { pad: 1 }), relu()] },
    { name: 'gap', layers: [adaptiveAvgPool(1), flatten()] },
    { name: 'fc', layers: [fc(10)] },
  ],
};
