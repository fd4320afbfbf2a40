import { defined } from '../../runtime/defined.js';
import { ModelShapeError } from '../errors.js';
import { LayerShapeError } from '../layer-cost.js';
import type { ModelSpec } from '../model-spec.js';
import { profileModel } from '../profile.js';
import { GraphBuilder, type Value } from './graph-builder.js';
import { emitLayers } from './layer-graph.js';
import { floatValueInfo, type onnx, ZOO_IR_VERSION, ZOO_OPSET } from './schema.js';
import type { WeightSink } from './weight-file.js';
import { WeightGenerator } from './weights.js';

/** Bumped whenever the graphs built from the same tables change (names, ops, initial values). */
export const ZOO_GRAPH_VERSION = 1;

/**
 * The ONNX graph of a zoo model, built from its layer table with seeded weights. The tensor at
 * every cut carries the cut's name (`input`, each block's name, `output`) and the node that
 * produces it the block's name, so the cuts found in the graph are the table's. Weights go to
 * `sink` as they are generated.
 */
export function buildZooGraph(spec: ModelSpec, seed: number, sink: WeightSink): onnx.IModelProto {
  const profile = profileModel(spec);
  const g = new GraphBuilder(new WeightGenerator(seed), sink);
  let x: Value = { name: g.reserve('input'), shape: spec.inputShape };
  spec.blocks.forEach((block, b) => {
    const cut = defined(profile.cuts[b + 1], `the cut after block "${block.name}"`);
    let y: Value;
    try {
      y = emitLayers(g, block.layers, x, `${block.name}/`);
    } catch (error) {
      if (error instanceof LayerShapeError)
        throw new ModelShapeError(spec.name, block.name, error.message);
      throw error;
    }
    // A block of identities (dropout only) must not rename the previous cut's tensor.
    if (y.name === x.name) g.node('Identity', block.name, [x.name], {}, cut.name);
    else g.rename(y.name, cut.name, block.name);
    x = { name: cut.name, shape: cut.shape };
  });
  const inner = profile.cuts.slice(1, -1);
  return {
    irVersion: ZOO_IR_VERSION,
    opsetImport: [{ domain: '', version: ZOO_OPSET }],
    producerName: 'edgesplit',
    docString: `${spec.title} (${spec.reference}), seeded weights`,
    metadataProps: [
      { key: 'edgesplit.model', value: spec.name },
      { key: 'edgesplit.seed', value: String(seed) },
      { key: 'edgesplit.graph-version', value: String(ZOO_GRAPH_VERSION) },
    ],
    graph: {
      name: spec.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [floatValueInfo('input', spec.inputShape)],
      output: [
        floatValueInfo('output', defined(profile.cuts.at(-1), `the output of ${spec.name}`).shape),
      ],
      valueInfo: inner.map((cut) => floatValueInfo(cut.name, cut.shape)),
    },
  };
}
