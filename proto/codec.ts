import { type Options, Packr, Unpackr } from 'msgpackr';
import { ValidationError } from './errors.js';
import { fastInferRequestBytes, type InferRequestBytes } from './fast-check.js';
import { type Message, type MessageKind, type MessageMap, validateMessage } from './messages.js';
import { msgpackFrameProblem } from './msgpack-frame.js';
import { float32Bytes } from './schemas/tensor.js';
import type { Validated } from './validate.js';

/** Default upper bound on an encoded payload: 16 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** Options of `decodeMessage`. */
export interface DecodeOptions {
  /**
   * Largest payload accepted, in bytes; a larger one is rejected with PAYLOAD_TOO_LARGE
   * before any decoding.
   * @defaultValue 16 MiB (`DEFAULT_MAX_PAYLOAD_BYTES`)
   */
  maxBytes?: number;
}

// Plain msgpack maps, not msgpackr records, so any msgpack decoder can read the fields. Tensor
// data is written as `bin` (see `portable`); `moreTypes` still decodes msgpackr's typed-array
// extension (0x74), which older peers send, as a Float32Array.
const packrOptions = {
  useRecords: false,
  moreTypes: true,
  structuredClone: false,
  // An undefined optional field is left out, and any other undefined becomes nil, rather than
  // msgpackr's undefined extension, which decoders refuse (`skipValues` is documented in
  // msgpackr's README but missing from its typings).
  skipValues: [undefined],
  encodeUndefinedAsNil: true,
};
const packr = new Packr(packrOptions);

/**
 * How every payload of ours is unpacked: plain maps as objects, typed arrays, and 64-bit
 * integers from other encoders as numbers (the schemas bound them anyway). Whatever else reads
 * msgpack we received (the ingress recovering an invalid request's id) unpacks with these.
 */
export const UNPACK_OPTIONS = {
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: true,
  structuredClone: false,
  int64AsType: 'number',
} as const satisfies Options;

const unpackr = new Unpackr(UNPACK_OPTIONS);

/**
 * Encodes a payload as msgpack. The Buffer is a view into a slab msgpackr shares between
 * encodings (never overwritten later): use its bytes, not `buf.buffer`.
 */
export function encodeMessage(value: Message): Buffer {
  return packr.pack(portable(value));
}

/**
 * The message with its tensor's data as the little-endian bytes of its values (a msgpack
 * `bin`), the form any msgpack library reads; no copy on a little-endian host.
 */
function portable(value: Message): Message | object {
  if (!('tensor' in value)) return value;
  const { tensor } = value;
  // Messages are built by our own code, but `encodeMessage` is also handed test payloads.
  if (typeof tensor !== 'object' || tensor === null || !(tensor.data instanceof Float32Array))
    return value;
  return { ...value, tensor: { ...tensor, data: float32Bytes(tensor.data) } };
}

function undecodable(kind: MessageKind, reason: string, cause?: unknown): ValidationError {
  return new ValidationError('UNDECODABLE', [`${kind}: ${reason}`], {
    cause,
  });
}

/**
 * Decodes and validates a payload of `kind` without throwing: garbage, truncated or oversize
 * bytes and invalid fields all come back as `{ ok: false, error }` with code UNDECODABLE,
 * PAYLOAD_TOO_LARGE or INVALID_PAYLOAD and issues rooted at `kind`.
 */
export function decodeMessage<K extends MessageKind>(
  kind: K,
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Validated<MessageMap[K]> {
  const unpacked = unpackPayload(kind, bytes, options);
  return unpacked.ok ? validateMessage(kind, unpacked.value) : unpacked;
}

/**
 * `decodeMessage('infer', ...)` with the tensor's values as the bytes they came in (a view of
 * `bytes`; a Float32Array of msgpackr's extension as a view of its bytes): the same checks,
 * errors and accepted payloads, without copying an unaligned tensor into a Float32Array.
 */
export function decodeInferBytes(
  bytes: Uint8Array,
  options: DecodeOptions = {},
): Validated<InferRequestBytes> {
  const unpacked = unpackPayload('infer', bytes, options);
  if (!unpacked.ok) return unpacked;
  const fast = fastInferRequestBytes(unpacked.value);
  if (fast !== undefined) return { ok: true, value: fast };
  const checked = validateMessage('infer', unpacked.value);
  if (!checked.ok) return checked;
  const { tensor, ...fields } = checked.value;
  const { dtype, shape, data } = tensor;
  const value = { ...fields, tensor: { dtype, shape, bytes: float32Bytes(data) } };
  return { ok: true, value };
}

/** The size and framing checks of a payload of `kind`, and its unpacked value. */
function unpackPayload(
  kind: MessageKind,
  bytes: Uint8Array,
  options: DecodeOptions,
): Validated<unknown> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (!(bytes instanceof Uint8Array))
    return { ok: false, error: undecodable(kind, 'payload must be bytes (a Uint8Array)') };
  if (bytes.length > maxBytes) {
    const issue = `${kind}: ${bytes.length} bytes exceeds the limit of ${maxBytes}`;
    return { ok: false, error: new ValidationError('PAYLOAD_TOO_LARGE', [issue]) };
  }
  const problem = msgpackFrameProblem(bytes);
  if (problem !== undefined) return { ok: false, error: undecodable(kind, problem) };
  // Every payload of ours is a map: anything else is refused without building it.
  const first = bytes[0];
  if (first === undefined || ((first & 0xf0) !== 0x80 && first !== 0xde && first !== 0xdf)) {
    const issue = `${kind}: must be a msgpack map (an object)`;
    return { ok: false, error: new ValidationError('INVALID_PAYLOAD', [issue]) };
  }
  let decoded: unknown;
  try {
    // A fresh view, because msgpackr caches a DataView on the object it is handed.
    decoded = unpackr.unpack(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.slice(0, 200) : 'msgpackr failed';
    return { ok: false, error: undecodable(kind, reason, cause) };
  }
  return { ok: true, value: decoded };
}
