/// <reference types="long" />
/**
 * The ONNX protobuf schema (onnx-proto's generated classes, ONNX 1.10 / IR 8) and the small
 * conversions the rest of this folder shares.
 */
import onnxProto from 'onnx-proto';

export import onnx = onnxProto.onnx;

/** `TensorProto.DataType.FLOAT`: every tensor that crosses a cut is float32. */
export const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** Default-domain opset of the zoo graphs. */
export const ZOO_OPSET = 13;

/** IR version 7 is the first that carries opset 13. */
export const ZOO_IR_VERSION = 7;

/** Dimension of a value info: a size, or a symbolic name for a dynamic one. */
export type Dim = number | string;

/** An int64 field (dims, attribute ints) as a number; exact below 2^53, far above any size. */
export function toNumber(value: number | Long): number {
  return typeof value === 'number' ? value : value.toNumber();
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** Decodes a serialised ModelProto; byte fields are views into `bytes`, not copies. */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** A float32 tensor's value info; without `shape`, the runtime infers type and shape. */
export function floatValueInfo(name: string, shape?: readonly Dim[]): onnx.IValueInfoProto {
  if (shape === undefined) return { name };
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of `values` in ONNX's raw_data order (little-endian): a view on x86 and ARM. */
export function littleEndianBytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  for (const [k, value] of values.entries()) view.setFloat32(4 * k, value, true);
  return bytes;
}

/** `TensorProto.DataLocation.EXTERNAL`: the values live in a file next to the model. */
export const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

/** An initializer whose `length` bytes sit at `offset` in `location` (relative to the model). */
export function externalTensor(
  template: onnx.ITensorProto,
  location: string,
  offset: number,
  length: number,
): onnx.ITensorProto {
  const { rawData: _inline, externalData: _old, dataLocation: _where, ...rest } = template;
  const externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
    { key: 'length', value: String(length) },
  ];
  return { ...rest, dataLocation: EXTERNAL, externalData };
}

/** A float32 initializer whose values are stored as `raw_data`. */
export function floatTensor(
  name: string,
  dims: readonly number[],
  values: Float32Array,
): onnx.ITensorProto {
  return { name, dims: [...dims], dataType: FLOAT, rawData: littleEndianBytes(values) };
}
