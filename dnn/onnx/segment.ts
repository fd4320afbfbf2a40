import { defined } from '../../runtime/defined.js';
import { SegmentError } from '../executor.js';
import { initializerNames, nodeInputs, nodeOutputs } from './graph-analysis.js';
import type { OnnxCut, OnnxModel } from './onnx-model.js';
import { encodeModel, floatValueInfo, type onnx } from './schema.js';

/** A serialised sub-model from one cut to a later one, ready for an inference session. */
export interface OnnxSegment {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  /** The cut the segment starts at: its tensor is the segment's only input. */
  readonly input: OnnxCut;
  /** The cut it ends at: its tensor is the segment's (first) output. */
  readonly output: OnnxCut;
  /** Every output in order: `output.tensor`, then the extra ones asked for. */
  readonly outputs: readonly string[];
  /** The ONNX model; its large initializers point into the weights file in `weightsDir`. */
  readonly bytes: Uint8Array;
  readonly weightsDir: string;
}

export interface SegmentOptions {
  /** Tensors to output as well, e.g. the cuts in between, to check a run against. */
  readonly alsoOutput?: readonly string[];
}

/** A tensor at the boundary of a sub-model; without a shape, its type is left to inference. */
export interface Boundary {
  readonly tensor: string;
  readonly shape?: readonly number[];
}

/**
 * The sub-model of `proto` that computes `outputs` from the single tensor `input`: the nodes
 * needed (in their order) and the initializers they read. Throws {@link SegmentError} when an
 * output needs an activation that does not come from `input`.
 */
export function extractSubmodel(
  proto: onnx.IModelProto,
  input: Required<Boundary>,
  outputs: readonly Boundary[],
): onnx.IModelProto {
  const graph = proto.graph ?? {};
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((node, index) => {
    for (const name of nodeOutputs(node)) producer.set(name, index);
  });
  const initializers = initializerNames(graph);
  const picked = new Set<number>();
  const used = new Set<string>();
  const pending = outputs.map((output) => output.tensor);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (name === input.tensor || used.has(name)) continue;
    used.add(name);
    if (initializers.has(name)) continue;
    const index = producer.get(name);
    if (index === undefined)
      throw new SegmentError(`"${name}" is needed but not computed from "${input.tensor}"`);
    if (picked.has(index)) continue;
    picked.add(index);
    pending.push(...nodeInputs(defined(nodes[index], `node ${index} of the graph`)));
  }
  const order = [...picked]
    .sort((a, b) => a - b)
    .map((index) => defined(nodes[index], `node ${index} of the graph`));
  const produced = new Set(order.flatMap((node) => nodeOutputs(node)));
  const declared = new Set(outputs.map((output) => output.tensor));
  const { graph: _whole, ...header } = proto;
  return {
    ...header,
    graph: {
      name: graph.name ?? 'segment',
      node: order,
      initializer: (graph.initializer ?? []).filter((t) => used.has(t.name ?? '')),
      sparseInitializer: (graph.sparseInitializer ?? []).filter((t) =>
        used.has(t.values?.name ?? ''),
      ),
      input: [floatValueInfo(input.tensor, input.shape)],
      output: outputs.map((output) => floatValueInfo(output.tensor, output.shape)),
      valueInfo: (graph.valueInfo ?? []).filter(
        (v) => produced.has(v.name ?? '') && !declared.has(v.name ?? ''),
      ),
    },
  };
}

/**
 * The part of `model` between cut `from` and cut `to` (from < to) as a model: the nodes that
 * compute the tensor at `to` (and any extra outputs) from the tensor at `from`, with the
 * initializers they read. Throws {@link SegmentError} for a bad cut range, or when the tensor
 * at `to` needs an activation other than the one at `from` (not a valid cut pair).
 */
export function segmentProto(
  model: OnnxModel,
  from: number,
  to: number,
  options: SegmentOptions = {},
): onnx.IModelProto {
  const last = model.cuts.length - 1;
  if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= last))
    throw new SegmentError(
      `model "${model.name}" has cuts 0..${last}: cannot run ${from} to ${to}`,
    );
  const input = defined(model.cuts[from], `cut ${from} of model "${model.name}"`);
  const output = defined(model.cuts[to], `cut ${to} of model "${model.name}"`);
  const shapes = new Map(model.cuts.map((cut) => [cut.tensor, cut.shape]));
  const outputs = segmentOutputs(model, to, options).map((tensor) => {
    const shape = shapes.get(tensor);
    return shape === undefined ? { tensor } : { tensor, shape };
  });
  let proto: onnx.IModelProto;
  try {
    proto = extractSubmodel(model.proto, input, outputs);
  } catch (error) {
    if (!(error instanceof SegmentError)) throw error;
    throw new SegmentError(`model "${model.name}", segment ${from} to ${to}: ${error.message}`);
  }
  const graph = defined(proto.graph, `the graph of model "${model.name}"'s segment`);
  graph.name = `${model.name}[${input.name}..${output.name}]`;
  return proto;
}

function segmentOutputs(model: OnnxModel, to: number, options: SegmentOptions): string[] {
  const output = defined(model.cuts[to], `cut ${to} of model "${model.name}"`).tensor;
  return [output, ...(options.alsoOutput ?? []).filter((tensor) => tensor !== output)];
}

/** {@link segmentProto}, serialised with what a session needs to run it. */
export function buildSegment(
  model: OnnxModel,
  from: number,
  to: number,
  options: SegmentOptions = {},
): OnnxSegment {
  const bytes = encodeModel(segmentProto(model, from, to, options));
  return {
    model: model.name,
    from,
    to,
    input: defined(model.cuts[from], `cut ${from} of model "${model.name}"`),
    output: defined(model.cuts[to], `cut ${to} of model "${model.name}"`),
    outputs: segmentOutputs(model, to, options),
    bytes,
    weightsDir: model.dir,
  };
}
