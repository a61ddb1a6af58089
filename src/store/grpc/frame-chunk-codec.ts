/**
 * The FrameChunk message (proto/orlydb/v1/db.proto) encoded by hand: one allocation of the exact
 * size and one copy of the frames. The generated encoder grows its buffer by doubling and copies
 * the result twice more, which for chunks of a few hundred KB was most of orly-db's garbage
 * collection in split-mode queries. Wire format: field 1 `data` (bytes), field 2 `ends` (packed
 * uint32 varints), field 3 `ids` (string), each omitted when empty as proto3 does.
 */
import { DatabaseServiceService } from '../../gen/orlydb/v1/db.js';

export interface FrameChunkFields {
  readonly data: Uint8Array;
  readonly ends: ArrayLike<number>;
  readonly ids: string;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value >>> 7; v !== 0; v >>>= 7) size++;
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let v = value >>> 0;
  while (v > 0x7f) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

export function encodeFrameChunk(chunk: FrameChunkFields): Buffer {
  const { data, ends, ids } = chunk;
  let endsSize = 0;
  for (let i = 0; i < ends.length; i++) endsSize += varintSize(ends[i]!);
  const field = (length: number) => (length === 0 ? 0 : 1 + varintSize(length) + length);
  const idsSize = Buffer.byteLength(ids, 'utf8');
  const out = Buffer.allocUnsafe(field(data.length) + field(endsSize) + field(idsSize));
  let at = 0;
  if (data.length > 0) {
    out[at++] = 0x0a;
    at = writeVarint(out, at, data.length);
    out.set(data, at);
    at += data.length;
  }
  if (endsSize > 0) {
    out[at++] = 0x12;
    at = writeVarint(out, at, endsSize);
    for (let i = 0; i < ends.length; i++) at = writeVarint(out, at, ends[i]!);
  }
  if (idsSize > 0) {
    out[at++] = 0x1a;
    at = writeVarint(out, at, idsSize);
    out.write(ids, at, 'utf8');
  }
  return out;
}

/** The DatabaseService definition with QueryFrames' responses encoded by encodeFrameChunk. */
export const DatabaseServiceDefinition = {
  ...DatabaseServiceService,
  queryFrames: {
    ...DatabaseServiceService.queryFrames,
    responseSerialize: (value: FrameChunkFields): Buffer => encodeFrameChunk(value),
  },
} as const;
