import { describe, expect, it } from 'vitest';
import {
  conv,
  DEVICE_CLASSES,
  EDGE_UNIT,
  getModel,
  getModelProfile,
  LINK_CLASSES,
  layerCost,
  listModels,
  ModelShapeError,
  maxpool,
  modelCuts,
  modelTotals,
  profileModel,
  REAL_MODELS,
  residual,
  UnknownModelError,
} from '../dnn/index.js';

/** Commonly cited multiply-accumulates (torchvision's "GFLOPS" column) and exact torchvision parameter counts. */
const REFERENCE: Record<string, { gmacs: number; params: number }> = {
  alexnet: { gmacs: 0.71, params: 61_100_840 },
  vgg16: { gmacs: 15.47, params: 138_357_544 },
  resnet18: { gmacs: 1.81, params: 11_689_512 },
  'mobilenet-v2': { gmacs: 0.3, params: 3_504_872 },
  'squeezenet1.1': { gmacs: 0.35, params: 1_235_496 },
};

const INPUT_BYTES = 3 * 224 * 224 * 4;

function cut(model: string, name: string) {
  const found = modelCuts(model).find((c) => c.name === name);
  if (found === undefined) throw new Error(`no cut ${name} in ${model}`);
  return found;
}

describe('model zoo', () => {
  it('lists the five real models and tiny-cnn', () => {
    expect(listModels()).toEqual([...REAL_MODELS, 'tiny-cnn']);
    expect(() => getModel('resnet50')).toThrow(UnknownModelError);
  });

  it.each(Object.entries(REFERENCE))(
    '%s matches the published MACs and parameters',
    (name, ref) => {
      const totals = modelTotals(name);
      expect(Math.abs(totals.macs / 1e9 - ref.gmacs) / ref.gmacs).toBeLessThan(0.03);
      // The shape pass counts parameters like PyTorch's parameters(): exact, not approximate.
      expect(totals.params).toBe(ref.params);
      // FLOPs are 2 per MAC plus a small share of element-wise work.
      expect(totals.flops).toBeGreaterThan(2 * totals.macs);
      expect(totals.flops).toBeLessThan(2.1 * totals.macs);
      expect(totals.inputBytes).toBe(INPUT_BYTES);
      expect(totals.outputBytes).toBe(1000 * 4);
    },
  );

  it('knows the tensor sizes at well-known cuts', () => {
    expect(cut('resnet18', 'input').bytes).toBe(INPUT_BYTES);
    expect(cut('resnet18', 'stem').shape).toEqual([1, 64, 112, 112]);
    expect(cut('resnet18', 'maxpool').bytes).toBe(64 * 56 * 56 * 4);
    expect(cut('resnet18', 'layer1.1').bytes).toBe(64 * 56 * 56 * 4);
    expect(cut('resnet18', 'layer2.0').shape).toEqual([1, 128, 28, 28]);
    expect(cut('resnet18', 'layer4.1').shape).toEqual([1, 512, 7, 7]);
    expect(cut('resnet18', 'avgpool').bytes).toBe(512 * 4);
    expect(cut('alexnet', 'pool5').bytes).toBe(9216 * 4);
    expect(cut('vgg16', 'pool5').bytes).toBe(25_088 * 4);
    expect(cut('mobilenet-v2', 'features.18').shape).toEqual([1, 1280, 7, 7]);
    expect(cut('squeezenet1.1', 'pool1').shape).toEqual([1, 64, 55, 55]);
    expect(cut('squeezenet1.1', 'fire9').shape).toEqual([1, 512, 13, 13]);
    expect(cut('tiny-cnn', 'input').bytes).toBe(3 * 32 * 32 * 4);
  });

  it('places cuts where the issue asks', () => {
    const names = (model: string) => modelCuts(model).map((c) => c.name);
    expect(names('resnet18')).toEqual([
      'input',
      'stem',
      'maxpool',
      ...['layer1', 'layer2', 'layer3', 'layer4'].flatMap((l) => [`${l}.0`, `${l}.1`]),
      'avgpool',
      'output',
    ]);
    expect(names('mobilenet-v2')).toHaveLength(1 + 19 + 2);
    expect(names('squeezenet1.1').filter((n) => n.startsWith('fire'))).toHaveLength(8);
  });

  it.each(listModels())('%s: unique cut names, monotone cumulative FLOPs', (name) => {
    const cuts = modelCuts(name);
    const { flops } = modelTotals(name);
    expect(new Set(cuts.map((c) => c.name)).size).toBe(cuts.length);
    expect(cuts[0]?.name).toBe('input');
    expect(cuts.at(-1)?.name).toBe('output');
    expect(cuts[0]?.flopsBefore).toBe(0);
    expect(cuts.at(-1)?.flopsAfter).toBe(0);
    cuts.forEach((c, p) => {
      expect(c.flopsBefore + c.flopsAfter).toBe(flops);
      expect(c.bytes).toBe(c.shape.reduce((a, b) => a * b, 4));
      const prev = cuts[p - 1];
      if (prev) {
        expect(c.flopsBefore).toBeGreaterThanOrEqual(prev.flopsBefore);
        expect(c.flopsAfter).toBeLessThanOrEqual(prev.flopsAfter);
      }
    });
    const profile = getModelProfile(name);
    expect(profile.blocks.reduce((a, b) => a + b.flops, 0)).toBe(flops);
  });
});

describe('layer costs', () => {
  it('counts conv MACs, params and output shape', () => {
    const cost = layerCost(conv(64, 7, { stride: 2, pad: 3, bias: false }), [1, 3, 224, 224]);
    expect(cost.shape).toEqual([1, 64, 112, 112]);
    expect(cost.macs).toBe(64 * 112 * 112 * 3 * 49);
    expect(cost.flops).toBe(2 * cost.macs);
    expect(cost.params).toBe(64 * 3 * 49);
  });

  it('follows PyTorch ceil-mode pooling', () => {
    expect(layerCost(maxpool(3, 2, 0, true), [1, 64, 111, 111]).shape).toEqual([1, 64, 55, 55]);
    expect(layerCost(maxpool(3, 2, 0, false), [1, 64, 112, 112]).shape).toEqual([1, 64, 55, 55]);
    expect(layerCost(maxpool(3, 2, 0, true), [1, 64, 112, 112]).shape).toEqual([1, 64, 56, 56]);
    expect(layerCost(maxpool(2, 2, 1, true), [1, 1, 4, 4]).shape).toEqual([1, 1, 3, 3]);
    // The last window would start in the right padding: PyTorch drops it.
    expect(layerCost(maxpool(2, 2, 1, true), [1, 1, 5, 5]).shape).toEqual([1, 1, 3, 3]);
  });

  it('rejects tables whose layers do not fit', () => {
    const bad = {
      name: 'bad',
      title: 'Bad',
      reference: 'test',
      inputShape: [1, 3, 8, 8],
      blocks: [{ name: 'res', layers: [residual([conv(4, 3, { pad: 1 })])] }],
    };
    expect(() => profileModel(bad)).toThrow(ModelShapeError);
    expect(() => profileModel(bad)).toThrow(/block "res": residual body/);
  });
});

describe('catalogs', () => {
  it('give every figure a source and a positive value', () => {
    expect(DEVICE_CLASSES.length).toBeGreaterThanOrEqual(4);
    expect(LINK_CLASSES.map((l) => l.id)).toEqual(['3g', '4g', '5g', 'wifi']);
    for (const entry of [...DEVICE_CLASSES, EDGE_UNIT]) {
      expect(entry.gflops).toBeGreaterThan(0);
      expect(entry.source).toMatch(/estimate/i);
    }
    for (const link of LINK_CLASSES) {
      expect(link.uplinkMbps).toBeGreaterThan(0);
      expect(link.downlinkMbps).toBeGreaterThanOrEqual(link.uplinkMbps);
      expect(link.rttMs).toBeGreaterThan(0);
      expect(link.source).toMatch(/estimate/i);
    }
  });
});
