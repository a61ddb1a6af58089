/**
 * LmdbEventStore (real LMDB, real signed events): NIP-09 deletion (e-tag and a-tag deletions,
 * by the author only, before or after the target, tombstones that block re-saving, deletions
 * of deletions) and NIP-40 expiration (expired events hidden from query, count and
 * negentropy, then purged).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Reasons } from '../../../src/errors.js';
import { BASE_TIME, newKey, signedEvent } from '../../helpers/events.js';
import { rejected, stored, useTempStore } from './lmdb-store-fixtures.js';

const db = useTempStore();

describe('LmdbEventStore: NIP-09 deletion', () => {
  test('an e-tag deletion removes the target and blocks it forever', async () => {
    const alice = newKey();
    const note = signedEvent(alice, { content: 'oops' });
    stored(await db.store.save(note));
    const deletion = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    const result = stored(await db.store.save(deletion));
    assert.deepEqual(result.removed, [note.id]);
    assert.equal(await db.store.getById(note.id), undefined);
    rejected(await db.store.save(note), Reasons.deleted);
    assert.deepEqual(await db.ids({ authors: [alice.pubkey] }), [deletion.id]);
  });

  test('a deletion that arrives before its target blocks the target', async () => {
    const alice = newKey();
    const note = signedEvent(alice, { content: 'later' });
    const deletion = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    assert.deepEqual(stored(await db.store.save(deletion)).removed, []);
    rejected(await db.store.save(note), Reasons.deleted);
  });

  test("another pubkey's deletion has no effect, before or after the target", async () => {
    const alice = newKey();
    const mallory = newKey();
    const note = signedEvent(alice);
    const later = signedEvent(alice, { content: 'later' });
    stored(await db.store.save(note));
    const deletion = signedEvent(mallory, {
      kind: 5,
      tags: [
        ['e', note.id],
        ['e', later.id],
      ],
    });
    assert.deepEqual(stored(await db.store.save(deletion)).removed, []);
    assert.ok(await db.store.getById(note.id));
    stored(await db.store.save(later));
    // The real author can still delete it afterwards.
    const own = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    assert.deepEqual(stored(await db.store.save(own)).removed, [note.id]);
  });

  test('deleting a deletion has no effect', async () => {
    const alice = newKey();
    const note = signedEvent(alice);
    stored(await db.store.save(note));
    const deletion = signedEvent(alice, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 });
    stored(await db.store.save(deletion));
    const undelete = signedEvent(alice, { kind: 5, tags: [['e', deletion.id]], created_at: BASE_TIME + 2 });
    assert.deepEqual(stored(await db.store.save(undelete)).removed, []);
    assert.ok(await db.store.getById(deletion.id));
    rejected(await db.store.save(note), Reasons.deleted);
    // A kind 5 whose id was named by a deletion can still be stored.
    const other = signedEvent(alice, { kind: 5, tags: [['e', '1'.repeat(64)]], created_at: BASE_TIME + 3 });
    stored(
      await db.store.save(
        signedEvent(alice, { kind: 5, tags: [['e', other.id]], created_at: BASE_TIME + 4 }),
      ),
    );
    assert.equal(stored(await db.store.save(other)).duplicate, false);
  });

  test('an a-tag deletion removes versions up to its created_at and blocks them', async () => {
    const alice = newKey();
    const article = signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME });
    stored(await db.store.save(article));
    const address = `30023:${alice.pubkey}:post`;
    const deletion = signedEvent(alice, { kind: 5, tags: [['a', address]], created_at: BASE_TIME + 10 });
    assert.deepEqual(stored(await db.store.save(deletion)).removed, [article.id]);
    const stale = signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 10 });
    rejected(await db.store.save(stale), Reasons.deleted);
    const fresh = signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 11 });
    stored(await db.store.save(fresh));
    // An older deletion neither removes the newer version nor lowers the tombstone.
    const oldDeletion = signedEvent(alice, { kind: 5, tags: [['a', address]], created_at: BASE_TIME + 5 });
    assert.deepEqual(stored(await db.store.save(oldDeletion)).removed, []);
    assert.ok(await db.store.getById(fresh.id));
    rejected(
      await db.store.save(
        signedEvent(alice, { kind: 30023, tags: [['d', 'post']], created_at: BASE_TIME + 7 }),
      ),
      Reasons.deleted,
    );
  });

  test('an a-tag deletion of a replaceable address, and one naming another pubkey', async () => {
    const alice = newKey();
    const bob = newKey();
    const profile = signedEvent(alice, { kind: 0, created_at: BASE_TIME });
    const bobProfile = signedEvent(bob, { kind: 0, created_at: BASE_TIME });
    stored(await db.store.save(profile));
    stored(await db.store.save(bobProfile));
    const deletion = signedEvent(alice, {
      kind: 5,
      tags: [
        ['a', `0:${alice.pubkey}:`],
        ['a', `0:${bob.pubkey}:`],
      ],
      created_at: BASE_TIME + 1,
    });
    assert.deepEqual(stored(await db.store.save(deletion)).removed, [profile.id]);
    assert.ok(await db.store.getById(bobProfile.id));
    // The deletion arrives before the version (address tombstone).
    const article = signedEvent(bob, { kind: 30023, tags: [['d', 'x']], created_at: BASE_TIME });
    stored(
      await db.store.save(
        signedEvent(bob, { kind: 5, tags: [['a', `30023:${bob.pubkey}:x`]], created_at: BASE_TIME }),
      ),
    );
    rejected(await db.store.save(article), Reasons.deleted);
  });
});

describe('LmdbEventStore: expiration (NIP-40)', () => {
  test('expired events are hidden from query, count and negentropy, then purged', async () => {
    const alice = newKey();
    const now = BASE_TIME + 100;
    const gone = signedEvent(alice, { tags: [['expiration', String(now)]], created_at: BASE_TIME });
    const soon = signedEvent(alice, { tags: [['expiration', String(now + 50)]], created_at: BASE_TIME + 1 });
    const plain = signedEvent(alice, { created_at: BASE_TIME + 2 });
    for (const e of [gone, soon, plain]) stored(await db.store.save(e));
    assert.deepEqual(await db.ids({ authors: [alice.pubkey] }, now), [plain.id, soon.id]);
    assert.deepEqual(await db.ids({ authors: [alice.pubkey] }, now - 1), [plain.id, soon.id, gone.id]);
    assert.equal((await db.store.count([{ kinds: [1] }], { now })).count, 2);
    assert.equal(
      (await db.store.count([{ kinds: [1] }, { authors: [alice.pubkey] }], { now: now + 50 })).count,
      1,
    );
    assert.equal(await db.store.purgeExpired(now), 1);
    assert.equal(await db.store.getById(gone.id), undefined);
    assert.equal((await db.store.stats()).events, 2);
    assert.equal(await db.store.purgeExpired(now), 0);
    assert.equal(await db.store.purgeExpired(now + 50), 1);
    assert.deepEqual(await db.ids({}, 0), [plain.id]);
  });
});
