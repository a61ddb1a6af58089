/**
 * QueryFrames through GrpcEventStore.queryFrames, against orly-db with LMDB query workers and
 * without (frames built in its event loop): the relay's visibility rules applied by the server
 * (restricted kinds readable only by their author or a p-tagged pubkey, hidden authors, hidden
 * kinds), the limit, newest-first order, each frame exactly prefix + stored JSON + `]` with its
 * id beside it, and a bad filter refused with INVALID_ARGUMENT.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { type NostrEvent, serializeEvent } from '../../../src/protocol/event.js';
import type { NormalizedFilter } from '../../../src/protocol/filter.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import type { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import type { FrameQuery } from '../../../src/store/query-frames.js';
import { type InProcessDb, startInProcessDb, TRUSTED } from '../../contract/grpc-harness.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';

const PREFIX = Buffer.from('["EVENT","sub",');
const alice = newKey();
const bob = newKey();
const carol = newKey();
const mallory = newKey();

const notes = [0, 1, 2].map((i) =>
  signedEvent(alice, { kind: 1, content: `note ${i}`, created_at: BASE_TIME + i }),
);
const dmToBob = signedEvent(alice, { kind: 4, tags: [['p', bob.pubkey]], created_at: BASE_TIME + 10 });
const dmToCarol = signedEvent(mallory, { kind: 4, tags: [['p', carol.pubkey]], created_at: BASE_TIME + 11 });
const fromMallory = signedEvent(mallory, { kind: 1, content: 'hidden author', created_at: BASE_TIME + 12 });
const reaction = signedEvent(carol, { kind: 7, content: '+', created_at: BASE_TIME + 13 });
const all = [...notes, dmToBob, dmToCarol, fromMallory, reaction];

function request(filter: NormalizedFilter, limit: number, extra: Partial<FrameQuery> = {}): FrameQuery {
  return {
    filter,
    limit,
    now: BASE_TIME + 100,
    prefix: PREFIX,
    checkRestricted: true,
    restrictedKinds: [4],
    authed: [bob.pubkey],
    ...extra,
  };
}

/** The frames of one request, each checked against its id; the events in order. */
async function frames(store: GrpcEventStore, query: FrameQuery): Promise<NostrEvent[]> {
  const chunks = store.queryFrames(query);
  assert.ok(chunks, 'a frame executor');
  const events: NostrEvent[] = [];
  for await (const chunk of chunks) {
    let start = 0;
    for (const [i, end] of chunk.ends.entries()) {
      const frame = Buffer.from(chunk.data.subarray(start, end));
      start = end;
      assert.deepEqual(frame.subarray(0, PREFIX.length), PREFIX);
      assert.equal(frame.at(-1), 0x5d);
      const event = JSON.parse(
        frame.subarray(PREFIX.length, frame.length - 1).toString('utf8'),
      ) as NostrEvent;
      assert.equal(frame.subarray(PREFIX.length, frame.length - 1).toString('utf8'), serializeEvent(event));
      assert.equal(chunk.ids.slice(i * 64, i * 64 + 64), event.id);
      events.push(event);
    }
  }
  return events;
}

for (const workers of [0, 2]) {
  describe(`QueryFrames, orly-db with ${workers} query workers`, () => {
    let db: InProcessDb;
    let store: GrpcEventStore;

    before(async () => {
      db = await startInProcessDb({ security: TRUSTED, queryWorkers: workers });
      await (db.server.store as LmdbEventStore).workersReady();
      store = await GrpcEventStore.connect(db.address, { security: TRUSTED });
      for (const event of all) assert.equal((await store.save(event)).stored, true);
    });

    after(async () => {
      await store.close();
      await db.stop();
    });

    test('restricted kinds only to their parties, hidden authors and kinds skipped, newest first', async () => {
      const got = await frames(
        store,
        request({}, 100, { hiddenAuthors: [mallory.pubkey], hiddenKinds: [7] }),
      );
      assert.deepEqual(
        got.map((e) => e.id),
        [dmToBob, ...notes.slice().reverse()].map((e) => e.id),
      );
    });

    test('without checks every matching event, the limit applied', async () => {
      const open = request({ kinds: [1] }, 2, { checkRestricted: false, restrictedKinds: [] });
      const got = await frames(store, { ...open, filter: { kinds: [1], limit: 2 } });
      assert.deepEqual(
        got.map((e) => e.id),
        [fromMallory, notes[2]!].map((e) => e.id),
      );
    });

    test('a stranger reads no direct message; limit 0 sends nothing', async () => {
      const stranger = await frames(store, request({ kinds: [4] }, 10, { authed: [] }));
      assert.deepEqual(stranger, []);
      assert.deepEqual(await frames(store, request({}, 0)), []);
    });

    test('a request with a long hidden-author list is left to the relay (no frame executor)', async () => {
      const many = Array.from({ length: 257 }, (_, i) => i.toString(16).padStart(64, '0'));
      assert.equal(store.queryFrames(request({}, 10, { hiddenAuthors: many })), undefined);
      const allowed = await frames(store, request({}, 10, { hiddenAuthors: many.slice(0, 256) }));
      // All but mallory's direct message to carol: none of these pubkeys authored anything.
      assert.equal(allowed.length, all.length - 1);
    });

    test('a limit beyond the server bound is refused with INVALID_ARGUMENT', async () => {
      await assert.rejects(
        frames(store, request({}, 2_000_000)),
        (err: { status?: number; message?: string }) => {
          assert.equal(err.status, status.INVALID_ARGUMENT);
          assert.match(String(err.message), /limit/);
          return true;
        },
      );
    });
  });
}
