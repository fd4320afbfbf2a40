import { adaptiveAvgPool, conv, dropout, fc, flatten, maxpool, relu } from '../layers.js';
import type { ModelSpec } from '../model-spec.js';

/** torchvision's AlexNet (the "one weird trick" variant: 64-192-384-256-256 filters, no LRN). */
export const alexnet: ModelSpec = {
  name: 'alexnet',
  title: 'AlexNet',
  reference: 'torchvision.models.alexnet',
  inputShape: [1, 3, 224, 224],
  blocks: [
    { name: 'conv1', layers: [conv(64, 11, { stride: 4, pad: 2 }), relu()] },
    { name: 'pool1', layers: [maxpool(3, 2)] },
    { name: 'conv2', layers: [conv(192, 5, { pad: 2 }), relu()] },
    { name: 'pool2', layers: [maxpool(3, 2)] },
    { name: 'conv3', layers: [conv(384, 3, { pad: 1 }), relu()] },
    { name: 'conv4', layers: [conv(256, 3, { pad: 1 }), relu()] },
    { name: 'conv5', layers: [conv(256, 3, { pad: 1 }), relu()] },
    { name: 'pool5', layers: [maxpool(3, 2), adaptiveAvgPool(6), flatten()] },
    { name: 'fc6', layers: [dropout(0.5), fc(4096), relu()] },
    { name: 'fc7', layers: [dropout(0.5), fc(4096), relu()] },
    { name: 'fc8', layers: [fc(1000)] },
  ],
};
