import { readSync, writeSync } from 'node:fs';
import { elementCount } from '../layer-cost.js';
import { externalTensor, FLOAT, floatTensor, littleEndianBytes, type onnx } from './schema.js';

/** Tensors smaller than this stay inline in the graph (ONNX's usual external-data threshold). */
export const INLINE_LIMIT_BYTES = 1024;

/**
 * External tensors start at multiples of this, so that the runtime can map them straight from
 * the page cache instead of copying them (it needs page-aligned offsets for that).
 */
export const WEIGHT_ALIGNMENT = 4096;

/** Floats generated and written per chunk: bounds the memory a huge tensor needs. */
const CHUNK_FLOATS = 1 << 20;

/** Where the initializers of a graph being built go. */
export interface WeightSink {
  /** Stores a float tensor whose values `fill` writes, chunk after chunk, in order. */
  addFloat(
    name: string,
    dims: readonly number[],
    fill: (chunk: Float32Array) => void,
  ): onnx.ITensorProto;
}

/**
 * Appends tensors to one weights file (opened by the caller) and hands back initializers that
 * refer to it by `location`, offset and length; small tensors stay inline.
 */
export class WeightFile implements WeightSink {
  private offset = 0;
  private scratch: Float32Array | undefined;

  constructor(
    private readonly fd: number,
    readonly location: string,
  ) {}

  addFloat(name: string, dims: readonly number[], fill: (chunk: Float32Array) => void) {
    const count = elementCount(dims);
    if (count * 4 < INLINE_LIMIT_BYTES) {
      const values = new Float32Array(count);
      fill(values);
      return floatTensor(name, dims, values);
    }
    const start = this.align();
    this.scratch ??= new Float32Array(CHUNK_FLOATS);
    for (let done = 0; done < count; done += CHUNK_FLOATS) {
      const chunk = this.scratch.subarray(0, Math.min(CHUNK_FLOATS, count - done));
      fill(chunk);
      this.write(littleEndianBytes(chunk));
    }
    return externalTensor(
      { name, dims: [...dims], dataType: FLOAT },
      this.location,
      start,
      count * 4,
    );
  }

  /** Moves the bytes of an existing tensor (any element type) into the file. */
  addBytes(tensor: onnx.ITensorProto, bytes: Uint8Array): onnx.ITensorProto {
    if (bytes.length < INLINE_LIMIT_BYTES) return { ...tensor, rawData: bytes };
    const start = this.align();
    this.write(bytes);
    return externalTensor(tensor, this.location, start, bytes.length);
  }

  /**
   * Copies `length` bytes at `offset` of the open file `source` into the file, chunk by chunk
   * (a tensor's size never becomes one allocation), for an existing tensor of any element type.
   */
  addFromFile(
    tensor: onnx.ITensorProto,
    source: number,
    offset: number,
    length: number,
  ): onnx.ITensorProto {
    if (length < INLINE_LIMIT_BYTES)
      return { ...tensor, rawData: readFully(source, length, offset) };
    const start = this.align();
    for (let done = 0; done < length; done += CHUNK_FLOATS * 4) {
      const size = Math.min(CHUNK_FLOATS * 4, length - done);
      this.write(readFully(source, size, offset + done));
    }
    return externalTensor(tensor, this.location, start, length);
  }

  private align(): number {
    const pad = (WEIGHT_ALIGNMENT - (this.offset % WEIGHT_ALIGNMENT)) % WEIGHT_ALIGNMENT;
    if (pad > 0) this.write(new Uint8Array(pad));
    return this.offset;
  }

  private write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.offset += bytes.length;
  }
}

/** `length` bytes at `position` of `fd`; throws if the file ends first. */
function readFully(fd: number, length: number, position: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, bytes, done, length - done, position + done);
    if (read === 0) throw new Error(`the file ends ${length - done} bytes early`);
    done += read;
  }
  return bytes;
}
