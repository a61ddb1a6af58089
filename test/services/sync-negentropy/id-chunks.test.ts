/**
 * idChunks (SyncWithPeer include_ids): have ids then need ids, at most 5,000 per message in all,
 * nothing lost or repeated; a full message encodes far below gRPC's default 4 MiB limit.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SyncProgress } from '../../../src/gen/orlysync/negentropy/v1/negentropy.js';
import { idChunks, MAX_IDS_PER_MESSAGE } from '../../../src/services/sync-negentropy/id-stream.js';

const ids = (n: number): string[] => Array.from({ length: n }, () => randomBytes(32).toString('hex'));

test('chunks hold at most 5,000 ids, have before need, in order', () => {
  assert.equal(MAX_IDS_PER_MESSAGE, 5000);
  for (const [h, n] of [
    [0, 0],
    [1, 0],
    [0, 1],
    [5000, 0],
    [4999, 2],
    [5000, 5000],
    [12_345, 6_789],
  ] as const) {
    const have = ids(h);
    const need = ids(n);
    const chunks = [...idChunks(have, need)];
    assert.equal(chunks.length, Math.ceil((h + n) / 5000), `${h}/${n}`);
    for (const c of chunks) {
      assert.ok(c.haveIds.length + c.needIds.length <= 5000);
      assert.ok(c.haveIds.length + c.needIds.length > 0);
    }
    assert.deepEqual(
      chunks.flatMap((c) => c.haveIds),
      have,
    );
    assert.deepEqual(
      chunks.flatMap((c) => c.needIds),
      need,
    );
    // Once need ids start, no have id follows.
    const firstNeed = chunks.findIndex((c) => c.needIds.length > 0);
    if (firstNeed >= 0) assert.ok(chunks.slice(firstNeed + 1).every((c) => c.haveIds.length === 0));
  }
});

test('a full chunk encodes to well under 4 MiB', () => {
  const [chunk] = [...idChunks(ids(3000), ids(3000))];
  const bytes = SyncProgress.encode(
    SyncProgress.fromPartial({ peerUrl: 'wss://relay.example.com', phase: 'ids', ...chunk }),
  ).finish().length;
  assert.ok(bytes < 400_000, `${bytes} bytes`);
  assert.ok(bytes < 4 * 1024 * 1024);
});
