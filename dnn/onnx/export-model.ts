import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { defined } from '../../runtime/defined.js';
import { WEIGHTS_FILE } from './model-store.js';
import type { OnnxModel } from './onnx-model.js';
import { EXTERNAL, onnx } from './schema.js';
import { segmentProto } from './segment.js';

/** A segment to export instead of the whole model. */
export interface ExportRange {
  readonly from: number;
  readonly to: number;
}

// Field numbers in onnx.proto: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;
const COPY_CHUNK = 1 << 22;

function varint(value: number, out: number[]): void {
  let rest = value;
  while (rest > 0x7f) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

/** Tag and length of a length-delimited field. */
function prefix(field: number, length: number): Uint8Array {
  const bytes: number[] = [];
  varint((field << 3) | 2, bytes);
  varint(length, bytes);
  return Uint8Array.from(bytes);
}

function entry(tensor: onnx.ITensorProto, key: string): number | undefined {
  const value = tensor.externalData?.find((e) => e.key === key)?.value;
  return value == null ? undefined : Number(value);
}

/**
 * Writes `model`, or the segment `range` of it, as one self-contained ONNX file (every
 * initializer inline as raw data): the form other tools and `importModel` read. The file is
 * written piece by piece (a message is the concatenation of its fields), so the weights are
 * copied from the weights file without ever being held whole in memory. Protobuf caps such a
 * file at 2 GB.
 */
export async function exportModel(
  model: OnnxModel,
  file: string,
  range?: ExportRange,
): Promise<void> {
  const source = range === undefined ? model.proto : segmentProto(model, range.from, range.to);
  const { graph = {}, ...header } = source;
  const { initializer = [], ...rest } = graph ?? {};
  const tensors = (initializer ?? []).map((tensor) => {
    if (tensor.dataLocation !== EXTERNAL)
      return { head: encodeTensor(tensor), offset: 0, length: 0 };
    const { externalData: _where, dataLocation: _how, rawData: _none, ...meta } = tensor;
    const offset = entry(tensor, 'offset') ?? 0;
    const length = entry(tensor, 'length') ?? 0;
    return { head: encodeTensor(meta), offset, length };
  });
  const rawPrefix = (length: number) =>
    length > 0 ? prefix(TENSOR_RAW_DATA, length) : new Uint8Array(0);
  const tensorSize = (t: (typeof tensors)[number]) =>
    t.head.length + rawPrefix(t.length).length + t.length;
  const graphBody = onnx.GraphProto.encode(rest).finish();
  const graphSize = tensors.reduce(
    (sum, t) => sum + prefix(GRAPH_INITIALIZER, tensorSize(t)).length + tensorSize(t),
    graphBody.length,
  );

  const out = await open(file, 'w');
  const weights = tensors.some((t) => t.length > 0)
    ? await open(join(model.dir, WEIGHTS_FILE), 'r')
    : undefined;
  try {
    const write = async (bytes: Uint8Array) => {
      for (let done = 0; done < bytes.length; )
        done += (await out.write(bytes, done, bytes.length - done)).bytesWritten;
    };
    await write(onnx.ModelProto.encode(header).finish());
    await write(prefix(MODEL_GRAPH, graphSize));
    await write(graphBody);
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    for (const t of tensors) {
      await write(prefix(GRAPH_INITIALIZER, tensorSize(t)));
      await write(t.head);
      await write(rawPrefix(t.length));
      for (let done = 0; done < t.length; ) {
        const size = Math.min(COPY_CHUNK, t.length - done);
        const file = defined(weights, `the open ${WEIGHTS_FILE} (a tensor has data)`);
        const { bytesRead } = await file.read(buffer, 0, size, t.offset + done);
        if (bytesRead === 0) throw new Error(`${WEIGHTS_FILE} ends before ${t.offset + t.length}`);
        await write(buffer.subarray(0, bytesRead));
        done += bytesRead;
      }
    }
  } finally {
    await out.close();
    await weights?.close();
  }
}

const encodeTensor = (tensor: onnx.ITensorProto): Uint8Array =>
  onnx.TensorProto.encode(tensor).finish();
