/**
 * Server-to-client WebSocket text frames (RFC 6455 §5.2: FIN set, opcode 1, unmasked, no
 * extensions) for frames already encoded as UTF-8, written back to back into one buffer, so
 * that a chunk of query results leaves in one socket write instead of two writes per frame.
 */

const FIN_TEXT = 0x81;
const LENGTH_16 = 126;
const LENGTH_64 = 127;

function headerSize(length: number): number {
  return length < LENGTH_16 ? 2 : length <= 0xffff ? 4 : 10;
}

/**
 * Frames [ends[i-1] (or `start`), ends[i]) of `data` for i in [from, to), each with its header.
 * The payloads must be valid UTF-8 (the relay's frames are its own JSON).
 */
export function encodeTextFrames(
  data: Uint8Array,
  ends: ArrayLike<number>,
  from: number,
  to: number,
  start: number,
): Buffer {
  let size = 0;
  let at = start;
  for (let i = from; i < to; i++) {
    const end = ends[i]!;
    size += headerSize(end - at) + end - at;
    at = end;
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  at = start;
  for (let i = from; i < to; i++) {
    const end = ends[i]!;
    const length = end - at;
    out[offset] = FIN_TEXT;
    if (length < LENGTH_16) {
      out[offset + 1] = length;
      offset += 2;
    } else if (length <= 0xffff) {
      out[offset + 1] = LENGTH_16;
      out.writeUInt16BE(length, offset + 2);
      offset += 4;
    } else {
      out[offset + 1] = LENGTH_64;
      out.writeUInt32BE(Math.floor(length / 0x1_0000_0000), offset + 2);
      out.writeUInt32BE(length >>> 0, offset + 6);
      offset += 10;
    }
    out.set(data.subarray(at, end), offset);
    offset += length;
    at = end;
  }
  return out;
}
