import { asError } from '../../runtime/as-error.js';
import { OnnxImportError } from './errors.js';
import { initializerNames } from './graph-analysis.js';
import { decodeModel, FLOAT, onnx, toNumber } from './schema.js';

/** The single input of an imported model, with the batch dimension fixed to 1. */
export interface ImportedInput {
  readonly tensor: string;
  readonly shape: readonly number[];
}

/** Decodes `bytes` and checks that it holds a graph at all. */
export function parseModel(file: string, bytes: Uint8Array): onnx.ModelProto {
  let proto: onnx.ModelProto;
  try {
    proto = decodeModel(bytes);
  } catch (error) {
    const reason = asError(error).message;
    throw new OnnxImportError(file, 'not-onnx', `not an ONNX model (${reason})`, { cause: error });
  }
  const nodes = proto.graph?.node ?? [];
  if (toNumber(proto.irVersion) <= 0 || nodes.length === 0 || nodes.some((n) => !n.opType))
    throw new OnnxImportError(file, 'not-onnx', 'not an ONNX model (no IR version or no graph)');
  return proto;
}

const typeName = (elemType: number): string =>
  onnx.TensorProto.DataType[elemType] ?? `type ${elemType}`;

/**
 * The one graph input that is not an initializer: float32, of static shape but for the batch
 * dimension (dynamic or 1).
 */
export function checkInput(file: string, graph: onnx.IGraphProto): ImportedInput {
  const constant = initializerNames(graph);
  const inputs = (graph.input ?? []).filter((v) => !constant.has(v.name ?? ''));
  const [input] = inputs;
  if (input === undefined || inputs.length !== 1)
    throw new OnnxImportError(
      file,
      'inputs',
      `a split model needs exactly one input, this one has ${inputs.length} (${inputs.map((v) => v.name).join(', ')})`,
    );
  const name = input.name ?? '';
  const tensorType = input.type?.tensorType;
  if (!tensorType)
    throw new OnnxImportError(file, 'non-float-input', `input "${name}" is not a tensor`);
  const elemType = tensorType.elemType ?? 0;
  if (elemType !== FLOAT)
    throw new OnnxImportError(
      file,
      'non-float-input',
      `input "${name}" is ${typeName(elemType)}; only float32 inputs can be split`,
    );
  const dims = tensorType.shape?.dim;
  if (!dims || dims.length === 0)
    throw new OnnxImportError(file, 'dynamic-dim', `input "${name}" has no static shape`);
  const shape = dims.map((dim, axis) => {
    const size = dim.dimValue == null ? 0 : toNumber(dim.dimValue);
    if (axis === 0) {
      if (size === 0 || size === 1) return 1;
      throw new OnnxImportError(
        file,
        'inputs',
        `input "${name}" has batch size ${size}; it must be 1 or dynamic`,
      );
    }
    if (size > 0) return size;
    const label = dim.dimParam ? ` ("${dim.dimParam}")` : '';
    throw new OnnxImportError(
      file,
      'dynamic-dim',
      `input "${name}" has a dynamic dimension at axis ${axis}${label}; only the batch dimension may be dynamic`,
    );
  });
  return { tensor: name, shape };
}

/** The name of the graph's one output. */
export function checkOutput(file: string, graph: onnx.IGraphProto): string {
  const outputs = graph.output ?? [];
  const [output] = outputs;
  if (output?.name == null || outputs.length !== 1)
    throw new OnnxImportError(
      file,
      'outputs',
      `a split model needs exactly one output, this one has ${outputs.length}`,
    );
  return output.name;
}

/** `input`, each producing node's name (its output's if unnamed, made unique), `output`. */
export function cutNames(producers: readonly (onnx.INodeProto | undefined)[]): string[] {
  const taken = new Set(['input', 'output']);
  return producers.map((node, index) => {
    if (index === 0) return 'input';
    if (index === producers.length - 1) return 'output';
    const base = node?.name || node?.output?.[0] || `cut${index}`;
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}#${k}`;
    taken.add(name);
    return name;
  });
}
