/**
 * The pure part of the ingress: turns one `ue/{ue}/infer` message into either a request to
 * enqueue or the error report for the UE. Never throws, whatever the bytes.
 */
import { Unpackr } from 'msgpackr';
import {
  decodeInferBytes,
  type ErrorReport,
  errorReportFrom,
  type InferRequestBytes,
  tryParseTopic,
  UNPACK_OPTIONS,
  ValidationError,
} from '../proto/index.js';

/** What to do with one message. */
export type InferOutcome =
  | { readonly ok: true; readonly ue: string; readonly request: InferRequestBytes }
  | {
      readonly ok: false;
      /** Where to publish the report; undefined when the topic names no UE at all. */
      readonly errorTopic: string | undefined;
      readonly report: ErrorReport;
    };

// Only used to recover the request id of an invalid request, so the agent can fail that
// request at once instead of waiting for it to time out.
const unpackr = new Unpackr(UNPACK_OPTIONS);

const MAX_ECHOED_ID = 256;

function requestIdOf(payload: Uint8Array): string | undefined {
  try {
    const decoded: unknown = unpackr.unpack(
      new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
    );
    if (typeof decoded !== 'object' || decoded === null) return undefined;
    const id: unknown = (decoded as Record<string, unknown>).requestId;
    return typeof id === 'string' ? id.slice(0, MAX_ECHOED_ID) : undefined;
  } catch {
    return undefined;
  }
}

/** Exponent bits of a float32: all ones for NaN and ±Infinity, and only for them. */
const EXPONENT = 0x7f800000;
/** Added to the exponent bits, it carries into the sign bit exactly when they are all ones. */
const CARRY = 0x00800000;

/**
 * The index of the first NaN or infinite element, or -1. Runs over the float's bits, four at a
 * time and without a branch per element (about twice as fast as comparing floats); the exact
 * index is looked for only once a bad element is known to be there.
 */
export function firstNonFinite(data: Float32Array): number {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const n = bits.length;
  let acc = 0;
  let i = 0;
  // biome-ignore-start lint/style/noNonNullAssertion: i + 3 < n and i < n bound every read; a check per element would cost the speed this loop is written for
  for (; i + 4 <= n; i += 4)
    acc |=
      ((bits[i]! & EXPONENT) + CARRY) |
      ((bits[i + 1]! & EXPONENT) + CARRY) |
      ((bits[i + 2]! & EXPONENT) + CARRY) |
      ((bits[i + 3]! & EXPONENT) + CARRY);
  for (; i < n; i++) acc |= (bits[i]! & EXPONENT) + CARRY;
  // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded scan
  if ((acc & 0x80000000) === 0) return -1;
  return bits.findIndex((b) => (b & EXPONENT) === EXPONENT);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * {@link firstNonFinite} over the little-endian bytes of float32 values, as they came: a view
 * when they are 4-aligned (on a little-endian host), else read through a DataView rather than
 * copied (a msgpack `bin` in an MQTT payload is rarely aligned; the DataView scan takes about
 * half the time of a copy and a scan, and allocates nothing).
 */
export function firstNonFiniteBytes(bytes: Uint8Array): number {
  const n = bytes.byteLength >>> 2;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0)
    return firstNonFinite(new Float32Array(bytes.buffer, bytes.byteOffset, n));
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 4);
  const end = n * 4;
  let acc = 0;
  let at = 0;
  for (; at + 16 <= end; at += 16)
    acc |=
      ((view.getUint32(at, true) & EXPONENT) + CARRY) |
      ((view.getUint32(at + 4, true) & EXPONENT) + CARRY) |
      ((view.getUint32(at + 8, true) & EXPONENT) + CARRY) |
      ((view.getUint32(at + 12, true) & EXPONENT) + CARRY);
  for (; at < end; at += 4) acc |= (view.getUint32(at, true) & EXPONENT) + CARRY;
  if ((acc & 0x80000000) === 0) return -1;
  for (let i = 0; i < n; i++) if ((view.getUint32(i * 4, true) & EXPONENT) === EXPONENT) return i;
  return -1;
}

function rejected(
  errorTopic: string | undefined,
  error: ValidationError,
  topic: string,
  requestId?: string,
): InferOutcome {
  const context = requestId === undefined ? { topic } : { topic, requestId };
  return { ok: false, errorTopic, report: errorReportFrom(error, context) };
}

/**
 * Reads an `infer` message received on `topic` (matched by `{prefix}/ue/+/infer`). A NaN or
 * infinite tensor element is refused too: the tail could only turn it into a meaningless result.
 */
export function readInferMessage(
  prefix: string,
  topic: string,
  payload: Uint8Array,
  maxBytes: number,
): InferOutcome {
  const parsed = tryParseTopic(prefix, topic);
  if (!parsed.ok || parsed.value.kind !== 'ue' || parsed.value.channel !== 'infer') {
    // The subscription only matches `{prefix}/ue/{x}/infer`, so here {x} is not a valid UE id.
    // Answer on that same level's error topic: it is a legal topic name, since the message
    // arrived on it, and it is where a client using that id listens.
    const levels = topic.slice(prefix.length + 1).split('/');
    const ue = levels[1];
    const shaped =
      topic.startsWith(`${prefix}/`) && levels.length === 3 && levels[0] === 'ue' && ue !== '';
    const issue = shaped
      ? `topic: UE id ${JSON.stringify(ue?.slice(0, 80))} must be 1-64 characters of [A-Za-z0-9._-]`
      : 'topic: not an infer topic';
    const error = new ValidationError('INVALID_TOPIC', [issue]);
    return rejected(shaped ? `${prefix}/ue/${ue}/error` : undefined, error, topic);
  }
  const ue = parsed.value.ue;
  const errorTopic = `${prefix}/ue/${ue}/error`;
  const decoded = decodeInferBytes(payload, { maxBytes });
  if (!decoded.ok) {
    const requestId = decoded.error.code === 'INVALID_PAYLOAD' ? requestIdOf(payload) : undefined;
    return rejected(errorTopic, decoded.error, topic, requestId);
  }
  const request = decoded.value;
  const { bytes } = request.tensor;
  const bad = firstNonFiniteBytes(bytes);
  if (bad !== -1) {
    const value = new DataView(bytes.buffer, bytes.byteOffset).getFloat32(bad * 4, true);
    const issue = `infer.tensor.data[${bad}]: must be a finite number, not ${value}`;
    const error = new ValidationError('INVALID_PAYLOAD', [issue]);
    return rejected(errorTopic, error, topic, request.requestId);
  }
  return { ok: true, ue, request };
}
