import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSegment,
  listModels,
  loadZooModel,
  modelCuts,
  type OnnxModel,
  openSegmentSession,
  WeightGenerator,
} from '../dnn/index.js';
import type { Tensor } from '../proto/index.js';
import { defined, mapGet } from '../runtime/defined.js';
import { maxAbsDiff, stats } from './dnn-onnx-helpers.js';

const TOLERANCE = 1e-4;

/**
 * Every zoo model, built as ONNX from its table, is run whole once with every cut's tensor as
 * an output; then, for every cut p, the head (0..p) on the same input and the tail (p..L) on
 * the head's output must reproduce those tensors.
 */
describe.each(listModels())('%s as an ONNX graph', (name) => {
  let model: OnnxModel;
  let input: Tensor;
  const reference = new Map<string, Tensor>();
  const referenceOf = (tensor: string) => mapGet(reference, tensor, `the full run's "${tensor}"`);

  beforeAll(async () => {
    model = await loadZooModel(name);
    const first = defined(model.cuts[0], `the input cut of ${name}`);
    const elements = first.bytes / 4;
    input = {
      dtype: 'float32',
      shape: [...first.shape],
      data: new WeightGenerator(42).uniform('test-input', elements, 1),
    };
    const last = model.cuts.length - 1;
    const inner = model.cuts.slice(1, last).map((cut) => cut.tensor);
    const full = await openSegmentSession(buildSegment(model, 0, last, { alsoOutput: inner }));
    for (const [tensor, value] of await full.runAll(input)) reference.set(tensor, value);
    reference.set(first.tensor, input);
    await full.close();
  }, 300_000);

  afterAll(() => reference.clear());

  it('has the zoo table cuts, and the tensor at every cut has the table shape and bytes', () => {
    const table = modelCuts(name);
    expect(model.cuts.map((c) => [c.name, c.shape, c.bytes])).toEqual(
      table.map((c) => [c.name, c.shape, c.bytes]),
    );
    for (const cut of table) {
      const tensor = referenceOf(cut.name);
      expect(tensor.shape, cut.name).toEqual(cut.shape);
      expect(tensor.data.length * 4, cut.name).toBe(cut.bytes);
    }
  });

  it('keeps activations finite, non-zero and of unit scale through the whole network', () => {
    for (const cut of model.cuts.slice(1)) {
      const s = stats(referenceOf(cut.tensor));
      expect(s.nonFinite, cut.name).toBe(0);
      expect(s.nonZero, cut.name).toBeGreaterThan(0);
      expect(s.std, cut.name).toBeGreaterThan(0.05);
      expect(s.std, cut.name).toBeLessThan(20);
    }
  });

  it('head (0..p) then tail (p..L) equals the full model at every cut p', async () => {
    const last = model.cuts.length - 1;
    const output = referenceOf(defined(model.cuts[last], `the output cut of ${name}`).tensor);
    for (const [p, cut] of model.cuts.entries()) {
      if (p === 0 || p === last) continue;
      const head = await openSegmentSession(buildSegment(model, 0, p));
      const middle = await head.run(input);
      await head.close();
      expect(middle.data.length * 4, cut.name).toBe(cut.bytes);
      expect(maxAbsDiff(middle, referenceOf(cut.tensor)), `head to ${cut.name}`).toBeLessThan(
        TOLERANCE,
      );
      const tail = await openSegmentSession(buildSegment(model, p, last));
      const result = await tail.run(middle);
      await tail.close();
      expect(maxAbsDiff(result, output), `tail from ${cut.name}`).toBeLessThan(TOLERANCE);
    }
  }, 300_000);
});
