/**
 * The hand-written FrameChunk encoder against the generated decoder: every field (empty or not,
 * one-byte and multi-byte varints, large data) reads back exactly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { FrameChunk } from '../../../src/gen/orlydb/v1/db.js';
import { encodeFrameChunk } from '../../../src/store/grpc/frame-chunk-codec.js';

function roundTrip(data: Uint8Array, ends: number[], ids: string): void {
  const encoded = encodeFrameChunk({ data, ends: Uint32Array.from(ends), ids });
  assert.deepEqual(
    Buffer.from(encoded),
    Buffer.from(FrameChunk.encode({ data: Buffer.from(data), ends, ids }).finish()),
  );
  const decoded = FrameChunk.decode(encoded);
  assert.deepEqual(Buffer.from(decoded.data), Buffer.from(data));
  assert.deepEqual(decoded.ends, ends);
  assert.equal(decoded.ids, ids);
}

describe('FrameChunk encoder', () => {
  it('encodes an empty chunk as an empty message', () => {
    assert.equal(encodeFrameChunk({ data: new Uint8Array(0), ends: [], ids: '' }).length, 0);
    roundTrip(new Uint8Array(0), [], '');
  });

  it('matches the generated encoder byte for byte, small and large', () => {
    roundTrip(Buffer.from('["EVENT","s",{}]'), [16], 'a'.repeat(64));
    const sizes = [1, 127, 128, 300, 16_383, 16_384, 70_000, 300_000];
    for (const size of sizes) {
      const data = randomBytes(size);
      const ends: number[] = [];
      for (let end = 0; end < size; ) {
        end = Math.min(size, end + 1 + Math.floor(Math.random() * 2000));
        ends.push(end);
      }
      roundTrip(data, ends, 'f'.repeat(64 * ends.length));
    }
  });
});
