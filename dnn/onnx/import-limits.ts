import { OnnxImportError } from './errors.js';
import { onnx, toNumber } from './schema.js';

const MIB = 1024 * 1024;

/**
 * Sizes an import refuses before it allocates anything: a file declares its dimensions, and a
 * few bytes can declare terabytes.
 */
export interface ImportLimits {
  /**
   * Largest input, output or intermediate tensor the graph declares with a static shape, in
   * bytes (the input is allocated and run once to measure the cuts). @defaultValue 64 MiB
   */
  readonly tensorBytes: number;
  /**
   * Largest model: the file and every initializer's declared size (inline or external), in
   * bytes. @defaultValue 1 GiB
   */
  readonly modelBytes: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  tensorBytes: 64 * MIB,
  modelBytes: 1024 * MIB,
};

/** Which limit a too-large file exceeds (the CLI names the flag that raises it). */
export type ImportLimitName = keyof ImportLimits;

/** A size for messages: `123 bytes`, `64 MiB`, `3.96e+28 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= MIB && bytes < 2 ** 53 && bytes % MIB === 0) return `${bytes / MIB} MiB`;
  if (bytes >= 1e15) return `${bytes.toPrecision(3)} bytes`;
  return `${bytes} bytes`;
}

/** Bytes per element of each ONNX data type (4-bit types round up; strings count 1 each). */
const ELEMENT_BYTES: Readonly<Record<number, number>> = (() => {
  const T = onnx.TensorProto.DataType;
  const sizes: Record<number, number> = {
    [T.FLOAT]: 4,
    [T.UINT8]: 1,
    [T.INT8]: 1,
    [T.UINT16]: 2,
    [T.INT16]: 2,
    [T.INT32]: 4,
    [T.INT64]: 8,
    [T.STRING]: 1,
    [T.BOOL]: 1,
    [T.FLOAT16]: 2,
    [T.DOUBLE]: 8,
    [T.UINT32]: 4,
    [T.UINT64]: 8,
    [T.COMPLEX64]: 8,
    [T.COMPLEX128]: 16,
    [T.BFLOAT16]: 2,
  };
  return sizes;
})();

/** Bytes a tensor of `dims` and `dataType` takes (at least 1 per element for unknown types). */
export function declaredBytes(dims: readonly number[], dataType: number): number {
  return dims.reduce((a, b) => a * b, ELEMENT_BYTES[dataType] ?? 1);
}

/** The dims of an initializer as numbers, or a message when one is negative. */
export function tensorDims(tensor: onnx.ITensorProto): number[] | string {
  const dims = (tensor.dims ?? []).map(toNumber);
  const bad = dims.find((d) => !Number.isSafeInteger(d) || d < 0);
  return bad === undefined ? dims : `initializer "${tensor.name}" has dimension ${bad}`;
}

const describeShape = (dims: readonly (number | string)[]) => `[${dims.join(', ')}]`;

const dimText = (d: onnx.TensorShapeProto.IDimension): number | string =>
  d.dimValue == null ? d.dimParam || '?' : toNumber(d.dimValue);

/**
 * Throws a `too-large` error: `subject` (what, ending with a verb such as "declares"), its size
 * and the limit it exceeds.
 */
export function refuseTooLarge(
  file: string,
  subject: string,
  declared: number,
  limit: ImportLimitName,
  limits: ImportLimits,
): never {
  const name = limit === 'tensorBytes' ? 'tensor' : 'model';
  throw new OnnxImportError(
    file,
    'too-large',
    `${subject} ${formatBytes(declared)}, above the ${name} size limit of ${formatBytes(limits[limit])}`,
    { limit },
  );
}

/**
 * Checks every tensor whose shape the graph declares (its input, outputs and value infos; the
 * batch and dynamic dimensions counted as 1) against the tensor limit. Initializers listed as
 * inputs are the model limit's business.
 */
export function checkDeclaredTensors(
  file: string,
  graph: onnx.IGraphProto,
  limits: ImportLimits,
): void {
  const constant = new Set((graph.initializer ?? []).map((t) => t.name));
  const infos: [string, onnx.IValueInfoProto][] = [
    ...(graph.input ?? [])
      .filter((v) => !constant.has(v.name))
      .map((v): [string, onnx.IValueInfoProto] => ['input', v]),
    ...(graph.output ?? []).map((v): [string, onnx.IValueInfoProto] => ['output', v]),
    ...(graph.valueInfo ?? []).map((v): [string, onnx.IValueInfoProto] => ['tensor', v]),
  ];
  for (const [kind, info] of infos) {
    const tensorType = info.type?.tensorType;
    const dim = tensorType?.shape?.dim;
    if (!tensorType || !dim) continue;
    const dims = dim.map((d, axis) =>
      axis === 0 || d.dimValue == null ? 1 : Math.max(toNumber(d.dimValue), 1),
    );
    const bytes = declaredBytes(dims, tensorType.elemType ?? 0);
    if (bytes > limits.tensorBytes)
      refuseTooLarge(
        file,
        `${kind} "${info.name}" ${describeShape(dim.map(dimText))} declares`,
        bytes,
        'tensorBytes',
        limits,
      );
  }
}

/** Checks the sum of every initializer's declared size against the model limit. */
export function checkInitializers(
  file: string,
  graph: onnx.IGraphProto,
  fileBytes: number,
  limits: ImportLimits,
): void {
  let total = fileBytes;
  for (const tensor of graph.initializer ?? []) {
    const dims = tensorDims(tensor);
    if (typeof dims === 'string') throw new OnnxImportError(file, 'graph', dims);
    const bytes = declaredBytes(dims, tensor.dataType ?? 0);
    total += bytes;
    if (total > limits.modelBytes)
      refuseTooLarge(
        file,
        `the file and its initializers up to "${tensor.name}" ${describeShape(dims)} (${formatBytes(bytes)}) declare`,
        total,
        'modelBytes',
        limits,
      );
  }
}
