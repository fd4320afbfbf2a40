/**
 * A structural check of msgpack bytes before they reach msgpackr. It walks the bytes once,
 * without recursion or allocation per value, and accepts only our wire format:
 *
 * - exactly one value, no trailing bytes;
 * - standard msgpack types, with map keys that are strings;
 * - the only extension is msgpackr's typed array (type 0x74), whose byte length must fit its
 *   element size. msgpackr's other extensions (records, bundled strings, structured-clone
 *   references, Error, RegExp, Set, Date, undefined) are refused: no sender of ours writes them,
 *   and they are where a decoder does non-obvious work on hostile input;
 * - nesting at most `maxDepth` deep, and no container declaring more items than bytes remain.
 *
 * So msgpackr only ever sees input whose decoding is linear in its size.
 */

/** msgpackr's extension type for typed arrays ("t"). */
const TYPED_ARRAY_EXT = 0x74;

/** msgpackr's typed-array subtype codes, in its order: bytes per element. */
const TYPED_ARRAY_ELEMENT_BYTES = [1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8] as const;

/** Default nesting limit; our deepest payload (edge status) nests 4 deep. */
const DEFAULT_MAX_DEPTH = 32;

/** Reads a big-endian unsigned integer of `size` bytes (1, 2 or 4) at `pos`. */
function readUint(bytes: Uint8Array, pos: number, size: number): number {
  let value = 0;
  for (let i = 0; i < size; i++) {
    const byte = bytes[pos + i];
    if (byte === undefined) throw new RangeError(`readUint: byte ${pos + i} is past the end`);
    value = value * 256 + byte;
  }
  return value;
}

/** Why `bytes` is not one well-formed value of our wire format, or undefined if it is. */
export function msgpackFrameProblem(
  bytes: Uint8Array,
  maxDepth = DEFAULT_MAX_DEPTH,
): string | undefined {
  const end = bytes.length;
  // Items still to read in each open container; for maps, keys and values both count.
  const remaining: number[] = [];
  const isMap: boolean[] = [];
  let pos = 0;
  let topLevelRead = false;

  while (true) {
    let depth = remaining.length;
    while (depth > 0 && remaining[depth - 1] === 0) {
      remaining.pop();
      isMap.pop();
      depth--;
    }
    if (depth === 0 && topLevelRead) break;
    let expectKey = false;
    const left = remaining[depth - 1]; // the innermost open container's, if any
    if (left !== undefined) {
      expectKey = isMap[depth - 1] === true && left % 2 === 0;
      remaining[depth - 1] = left - 1;
    }
    topLevelRead = true;

    const at = pos;
    const token = bytes[pos++];
    if (token === undefined) return `truncated: a value is missing at byte ${at}`;
    let header = 0; // bytes of length/size that follow the token
    let payload = 0; // bytes of data after the header
    let items = -1; // >= 0 for a container
    let map = false;
    let str = false;
    let ext = false;

    if (token <= 0x7f || token >= 0xe0 || token === 0xc0 || token === 0xc2 || token === 0xc3) {
      // fixint, nil, bool: the token is the whole value
    } else if (token <= 0x8f) {
      items = token & 0x0f;
      map = true;
    } else if (token <= 0x9f) {
      items = token & 0x0f;
    } else if (token <= 0xbf) {
      payload = token & 0x1f;
      str = true;
    } else {
      switch (token) {
        case 0xc4: // bin 8/16/32
        case 0xc5:
        case 0xc6:
          header = 1 << (token - 0xc4);
          break;
        case 0xc7: // ext 8/16/32
        case 0xc8:
        case 0xc9:
          header = 1 << (token - 0xc7);
          ext = true;
          break;
        case 0xca: // float 32/64
          payload = 4;
          break;
        case 0xcb:
          payload = 8;
          break;
        case 0xcc: // uint 8..64
        case 0xcd:
        case 0xce:
        case 0xcf:
          payload = 1 << (token - 0xcc);
          break;
        case 0xd0: // int 8..64
        case 0xd1:
        case 0xd2:
        case 0xd3:
          payload = 1 << (token - 0xd0);
          break;
        case 0xd4: // fixext 1..16: the type byte, then the data
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          ext = true;
          payload = 1 << (token - 0xd4);
          break;
        case 0xd9: // str 8/16/32
        case 0xda:
        case 0xdb:
          header = 1 << (token - 0xd9);
          str = true;
          break;
        case 0xdc: // array 16/32
        case 0xdd:
          header = token === 0xdc ? 2 : 4;
          items = 0;
          break;
        case 0xde: // map 16/32
        case 0xdf:
          header = token === 0xde ? 2 : 4;
          items = 0;
          map = true;
          break;
        default: // 0xc1 is never used
          return `byte ${at}: 0x${token.toString(16)} is not a msgpack type`;
      }
    }

    if (expectKey && !str) return `byte ${at}: map keys must be strings`;
    if (pos + header > end) return `truncated: the header at byte ${at} is cut off`;
    const size = header > 0 ? readUint(bytes, pos, header) : 0;
    pos += header;

    if (items >= 0) {
      const count = header > 0 ? size : items;
      const slots = map ? count * 2 : count;
      // Every item takes at least one byte, so a larger count can only be a lie.
      if (slots > end - pos)
        return `truncated: the container at byte ${at} declares ${count} entries but ${end - pos} bytes remain`;
      if (slots > 0) {
        if (depth + 1 > maxDepth) return `byte ${at}: nested deeper than ${maxDepth}`;
        remaining.push(slots);
        isMap.push(map);
      }
      continue;
    }

    if (ext) {
      const dataBytes = header > 0 ? size : payload;
      if (pos + 1 + dataBytes > end) return `truncated: the extension at byte ${at} is cut off`;
      const type = bytes[pos];
      if (type !== TYPED_ARRAY_EXT)
        return `byte ${at}: extension type ${type} is not allowed (only typed arrays, 0x74)`;
      const code = dataBytes > 0 ? (bytes[pos + 1] ?? -1) : -1;
      const elementBytes = TYPED_ARRAY_ELEMENT_BYTES[code];
      if (elementBytes === undefined) return `byte ${at}: unknown typed array code ${code}`;
      if ((dataBytes - 1) % elementBytes !== 0)
        return `byte ${at}: typed array of ${dataBytes - 1} bytes is not a whole number of ${elementBytes}-byte elements`;
      pos += 1 + dataBytes;
      continue;
    }

    const length = header > 0 ? size : payload;
    if (pos + length > end) return `truncated: the value at byte ${at} is cut off`;
    pos += length;
  }

  if (pos !== end) return `${end - pos} trailing bytes after the value`;
  return undefined;
}
