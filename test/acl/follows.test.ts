/**
 * ACL modes in-process against a real LmdbEventStore: follows mode (owners' and admins' kind 3
 * lists allow their follows; a newer kind 3 refreshes at once; a store change feed refreshes;
 * Configure replaces admins), access levels, mode "none", the factory's mode validation, and
 * the npub / hex pubkey-list parser.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { nip19 } from 'nostr-tools';
import { OpenAccessControl, type Requester } from '../../src/acl/access-control.js';
import { ACL_MODES, createAccessControl, parseAclMode } from '../../src/acl/factory.js';
import { FOLLOWS_DENIED, FollowsAccessControl } from '../../src/acl/follows-access-control.js';
import { parsePubkeyList } from '../../src/acl/pubkeys.js';
import { ConfigError } from '../../src/config/env.js';
import type { NostrEvent } from '../../src/protocol/event.js';
import type { EventStore, StoredEvent } from '../../src/store/event-store.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { BASE_TIME, newKey, signedEvent, type TestKey } from '../helpers/events.js';

const anon: Requester = { authed: new Set(), ip: '127.0.0.1' };

let dir: string;
let store: LmdbEventStore;
let owner: TestKey;
let admin: TestKey;
let alice: TestKey;
let bob: TestKey;
let carol: TestKey;

function contacts(author: TestKey, follows: TestKey[], createdAt = BASE_TIME): NostrEvent {
  return signedEvent(author, { kind: 3, created_at: createdAt, tags: follows.map((k) => ['p', k.pubkey]) });
}

async function stored(ev: NostrEvent): Promise<NostrEvent> {
  const res = await store.save(ev);
  assert.equal(res.stored, true);
  return ev;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'orly-acl-test-'));
  store = LmdbEventStore.open(dir);
  [owner, admin, alice, bob, carol] = [newKey(), newKey(), newKey(), newKey(), newKey()];
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('follows mode', () => {
  test('owners, admins and the pubkeys they follow may write; others are blocked', async () => {
    await stored(contacts(admin, [alice]));
    await stored(contacts(owner, [bob]));
    const acl = await FollowsAccessControl.create({
      store,
      owners: [owner.pubkey],
      admins: [admin.pubkey],
    });
    try {
      assert.equal(acl.mode, 'follows');
      assert.equal(acl.followCount, 2);
      assert.equal(acl.checkEvent(signedEvent(alice), anon), undefined, 'followed by the admin');
      assert.equal(acl.checkEvent(signedEvent(bob), anon), undefined, 'followed by the owner');
      assert.equal(acl.checkEvent(signedEvent(owner), anon), undefined);
      assert.equal(acl.checkEvent(signedEvent(admin), anon), undefined);
      assert.equal(acl.checkEvent(signedEvent(carol), anon), FOLLOWS_DENIED);
      assert.match(FOLLOWS_DENIED, /^blocked: /);
      // The author is checked, not who is authenticated on the connection.
      const authedAsAdmin: Requester = { authed: new Set([admin.pubkey]), ip: '127.0.0.1' };
      assert.equal(acl.checkEvent(signedEvent(carol), authedAsAdmin), FOLLOWS_DENIED);
      const authedAsCarol: Requester = { authed: new Set([carol.pubkey]), ip: '127.0.0.1' };
      assert.equal(acl.checkEvent(signedEvent(alice), authedAsCarol), undefined);

      assert.equal(acl.accessLevel(owner.pubkey, ''), 'owner');
      assert.equal(acl.accessLevel(admin.pubkey, ''), 'admin');
      assert.equal(acl.accessLevel(alice.pubkey, ''), 'write');
      assert.equal(acl.accessLevel(carol.pubkey, ''), 'read');
      assert.equal(acl.accessLevel(undefined, ''), 'read');
    } finally {
      await acl.close();
    }
  });

  test('a newer kind 3 from an admin refreshes the set at once (follows and unfollows)', async () => {
    await stored(contacts(admin, [alice], BASE_TIME));
    const acl = await FollowsAccessControl.create({ store, owners: [], admins: [admin.pubkey] });
    try {
      assert.equal(acl.checkEvent(signedEvent(bob), anon), FOLLOWS_DENIED);
      const next = await stored(contacts(admin, [bob], BASE_TIME + 10));
      acl.eventStored(next);
      assert.equal(acl.checkEvent(signedEvent(bob), anon), undefined, 'newly followed');
      assert.equal(acl.checkEvent(signedEvent(alice), anon), FOLLOWS_DENIED, 'unfollowed');
      // An older list (arriving late) does not win.
      acl.eventStored(contacts(admin, [carol], BASE_TIME + 5));
      assert.equal(acl.checkEvent(signedEvent(carol), anon), FOLLOWS_DENIED);
      // Kind 3 from someone unprivileged changes nothing.
      acl.eventStored(contacts(alice, [carol], BASE_TIME + 20));
      assert.equal(acl.checkEvent(signedEvent(carol), anon), FOLLOWS_DENIED);
      // A reload from the store agrees with the incremental state.
      await acl.reload();
      assert.equal(acl.checkEvent(signedEvent(bob), anon), undefined);
      assert.equal(acl.checkEvent(signedEvent(alice), anon), FOLLOWS_DENIED);
    } finally {
      await acl.close();
    }
  });

  test('an admin deleting their kind 3 (NIP-09) is picked up by the reload it triggers', async () => {
    const list = await stored(contacts(admin, [alice]));
    const acl = await FollowsAccessControl.create({ store, owners: [], admins: [admin.pubkey] });
    try {
      assert.equal(acl.checkEvent(signedEvent(alice), anon), undefined);
      const deletion = await stored(
        signedEvent(admin, { kind: 5, created_at: BASE_TIME + 1, tags: [['e', list.id]] }),
      );
      acl.eventStored(deletion);
      await acl.reload(); // joins the reload the deletion triggered
      assert.equal(acl.checkEvent(signedEvent(alice), anon), FOLLOWS_DENIED);
    } finally {
      await acl.close();
    }
  });

  test('a store change feed (watch) refreshes the set, and close() unsubscribes', async () => {
    const listeners = new Set<(e: StoredEvent) => void>();
    const watching: EventStore = Object.assign(Object.create(store) as EventStore, {
      query: store.query.bind(store),
      watch(listener: (e: StoredEvent) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    });
    const acl = await FollowsAccessControl.create({ store: watching, owners: [owner.pubkey], admins: [] });
    assert.equal(listeners.size, 1);
    assert.equal(acl.checkEvent(signedEvent(alice), anon), FOLLOWS_DENIED);
    const ev = await stored(contacts(owner, [alice], BASE_TIME + 1));
    for (const l of listeners) l({ serial: 1, raw: JSON.stringify(ev), id: ev.id, kind: ev.kind, event: ev });
    assert.equal(acl.checkEvent(signedEvent(alice), anon), undefined);
    await acl.close();
    assert.equal(listeners.size, 0);
  });

  test('configure replaces admins and reloads their lists', async () => {
    await stored(contacts(admin, [alice]));
    await stored(contacts(carol, [bob]));
    const acl = await FollowsAccessControl.create({ store, owners: [], admins: [admin.pubkey] });
    try {
      assert.equal(acl.checkEvent(signedEvent(bob), anon), FOLLOWS_DENIED);
      await acl.configure({ admins: [carol.pubkey] });
      assert.equal(acl.checkEvent(signedEvent(bob), anon), undefined, "carol's follow");
      assert.equal(acl.checkEvent(signedEvent(alice), anon), FOLLOWS_DENIED, 'old admin no longer counts');
      assert.equal(acl.accessLevel(admin.pubkey, ''), 'read');
      assert.equal(acl.accessLevel(carol.pubkey, ''), 'admin');
    } finally {
      await acl.close();
    }
  });

  test('p tags: upper-case hex normalized, junk ignored', async () => {
    await stored(
      signedEvent(admin, {
        kind: 3,
        tags: [['p', alice.pubkey.toUpperCase()], ['p', 'not-a-key'], ['p'], ['e', bob.pubkey]],
      }),
    );
    const acl = await FollowsAccessControl.create({ store, owners: [], admins: [admin.pubkey] });
    try {
      assert.equal(acl.followCount, 1);
      assert.equal(acl.checkEvent(signedEvent(alice), anon), undefined);
      assert.equal(acl.checkEvent(signedEvent(bob), anon), FOLLOWS_DENIED);
    } finally {
      await acl.close();
    }
  });

  test('a store that fails at start fails the creation', async () => {
    const broken = Object.assign(Object.create(store) as EventStore, {
      query: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('db down')) }),
      }),
    });
    await assert.rejects(
      FollowsAccessControl.create({ store: broken, owners: [owner.pubkey], admins: [] }),
      /db down/,
    );
  });
});

describe('mode none and the factory', () => {
  test('none: everyone writes; owners and admins keep their level', async () => {
    const acl = await createAccessControl('none', { owners: [owner.pubkey], admins: [admin.pubkey] });
    assert.ok(acl instanceof OpenAccessControl);
    assert.equal(await acl.checkEvent(signedEvent(carol), anon), undefined);
    assert.equal(await acl.accessLevel(undefined, ''), 'write');
    assert.equal(await acl.accessLevel(owner.pubkey, ''), 'owner');
    assert.equal(await acl.accessLevel(admin.pubkey, ''), 'admin');
    await acl.close();
  });

  test('follows through the factory; other modes are refused naming the variable', async () => {
    await stored(contacts(admin, [alice]));
    const acl = await createAccessControl('follows', { store, admins: [admin.pubkey], reloadIntervalMs: 0 });
    assert.equal(acl.mode, 'follows');
    assert.equal(await acl.checkEvent(signedEvent(alice), anon), undefined);
    await acl.close();
    assert.deepEqual([...ACL_MODES], ['none', 'follows', 'managed', 'curating']);
    assert.equal(parseAclMode(' Follows ', 'ORLY_ACL_MODE'), 'follows');
    assert.throws(
      () => parseAclMode('paid', 'ORLY_ACL_MODE'),
      (err: Error) =>
        err instanceof ConfigError &&
        /^ORLY_ACL_MODE: ACL mode "paid" is not implemented yet; available modes: none, follows, managed, curating$/.test(
          err.message,
        ),
    );
    assert.throws(() => parseAclMode('bogus', 'ORLY_ACL_MODE'), /ORLY_ACL_MODE: unknown ACL mode "bogus"/);
    assert.throws(() => parseAclMode('curation', 'ORLY_ACL_MODE'), /the mode is named "curating"/);
    await assert.rejects(createAccessControl('follows', {}), /needs an event store/);
  });
});

describe('pubkey lists', () => {
  test('hex (any case) and npub, de-duplicated; bad entries name the variable', () => {
    const a = newKey().pubkey;
    const b = newKey().pubkey;
    const npubB = nip19.npubEncode(b);
    assert.deepEqual(parsePubkeyList(` ${a.toUpperCase()}, ${npubB},,${a}`, 'ORLY_OWNERS'), [a, b]);
    assert.deepEqual(parsePubkeyList(npubB.toUpperCase(), 'ORLY_OWNERS'), [b]);
    assert.deepEqual(parsePubkeyList(undefined, 'ORLY_OWNERS'), []);
    const corrupted = `${npubB.slice(0, -1)}${npubB.endsWith('q') ? 'p' : 'q'}`;
    assert.throws(
      () => parsePubkeyList(corrupted, 'ORLY_ADMINS'),
      /^ConfigError: ORLY_ADMINS: invalid pubkey .*bad checksum/,
    );
    assert.throws(() => parsePubkeyList(nip19.noteEncode(a), 'ORLY_ADMINS'), /ORLY_ADMINS: invalid pubkey/);
    assert.throws(() => parsePubkeyList('abc', 'ORLY_OWNERS'), /ORLY_OWNERS: invalid pubkey "abc"/);
  });
});
