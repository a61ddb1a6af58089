/**
 * ACL mode "managed" on its own (src/acl/managed/): the order of its write rules, its levels,
 * what it hides from whom, params validated before anything changes, the bounded moderation
 * queue, and its lists read back from the store's state. Also the query-side helpers that
 * apply hidden authors (src/protocol/hidden-authors.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManagedAccessControl } from '../../src/acl/managed/managed-access-control.js';
import { MAX_MODERATION } from '../../src/acl/managed/managed-lists.js';
import type { NormalizedFilter } from '../../src/protocol/filter.js';
import { countSplit, withoutHiddenAuthors } from '../../src/protocol/hidden-authors.js';
import { newKey, signedEvent } from '../helpers/events.js';
import { MemoryEventStore } from '../helpers/memory-store.js';

const owner = newKey();
const admin = newKey();
const alice = newKey();
const bob = newKey();
const nobody = { authed: new Set<string>(), ip: '203.0.113.9' };

async function managed(store = new MemoryEventStore()) {
  const acl = await ManagedAccessControl.create({ store, owners: [owner.pubkey], admins: [admin.pubkey] });
  return {
    acl,
    store,
    call: (method: string, ...params: unknown[]) => acl.manage(method, params, owner.pubkey),
  };
}

describe('managed mode decisions', () => {
  it('first rule that applies wins', async () => {
    const { acl, call } = await managed();
    const note = signedEvent(alice, { kind: 1 });
    assert.match(String(acl.checkEvent(note, nobody)), /^blocked: only pubkeys allowed/);
    assert.equal(acl.checkEvent(signedEvent(owner), nobody), undefined, 'owners write');
    await call('allowpubkey', alice.pubkey);
    assert.equal(acl.checkEvent(note, nobody), undefined);
    await call('blockip', nobody.ip);
    assert.equal(acl.checkEvent(note, nobody), undefined, 'an allowed author passes an IP block');
    assert.match(String(acl.checkEvent(signedEvent(bob), nobody)), /^blocked: your IP address is blocked/);
    await call('allowkind', 7);
    assert.match(String(acl.checkEvent(note, nobody)), /^blocked: kind 1 is not allowed/);
    assert.equal(
      acl.checkEvent(signedEvent(admin, { kind: 1 }), nobody),
      undefined,
      'admins ignore the kind list',
    );
    await call('allowevent', note.id);
    assert.equal(acl.checkEvent(note, nobody), undefined, 'an allowed event id passes the kind list');
    await call('banevent', note.id);
    assert.match(String(acl.checkEvent(note, nobody)), /^blocked: this event is banned/);
    await call('banpubkey', alice.pubkey, 'spam');
    assert.match(
      String(acl.checkEvent(signedEvent(alice, { kind: 7 }), nobody)),
      /^blocked: this pubkey is banned/,
    );
  });

  it('levels, and hidden authors for everyone but owners and admins', async () => {
    const { acl, call } = await managed();
    assert.equal(acl.accessLevel(owner.pubkey, '::1'), 'owner');
    assert.equal(acl.accessLevel(undefined, '::1'), 'read');
    assert.equal(acl.hiddenAuthors({ authed: new Set() }), undefined);
    await call('banpubkey', bob.pubkey);
    await call('allowpubkey', alice.pubkey);
    await call('blockip', '::1');
    assert.equal(acl.accessLevel(bob.pubkey, '1.2.3.4'), 'banned');
    assert.equal(acl.accessLevel(alice.pubkey, '::1'), 'write');
    assert.equal(acl.accessLevel(undefined, '::1'), 'blocked');
    assert.deepEqual([...(acl.hiddenAuthors({ authed: new Set([alice.pubkey]) }) ?? [])], [bob.pubkey]);
    assert.equal(acl.hiddenAuthors({ authed: new Set([alice.pubkey, admin.pubkey]) }), undefined);
  });

  it('validates params before changing anything; unknown methods are errors', async () => {
    const { call } = await managed();
    for (const [method, params] of [
      ['banpubkey', ['xyz']],
      ['banpubkey', [alice.pubkey, 42]],
      ['allowkind', [70000]],
      ['allowkind', ['1']],
      ['blockip', ['300.1.1.1']],
      ['changerelayname', ['x'.repeat(300)]],
      ['changerelayicon', ['ftp://example.com/i.png']],
    ] as const) {
      const outcome = await call(method, ...params);
      assert.ok('error' in outcome, `${method} ${JSON.stringify(params)}`);
    }
    assert.deepEqual(await call('listbannedpubkeys'), { result: [] });
    assert.deepEqual(await call('listallowedkinds'), { result: [] });
    const unknown = await call('nosuch');
    assert.ok('error' in unknown && /unknown method/.test(unknown.error), JSON.stringify(unknown));
  });

  it('keeps its lists in the store state: a new instance over the same store sees them', async () => {
    const { store, call } = await managed();
    await call('banpubkey', bob.pubkey, 'spam');
    await call('allowkind', 1);
    await call('changerelayname', 'Renamed');
    const again = await managed(store);
    assert.deepEqual(await again.call('listbannedpubkeys'), {
      result: [{ pubkey: bob.pubkey, reason: 'spam' }],
    });
    assert.deepEqual(await again.call('listallowedkinds'), { result: [1] });
    assert.deepEqual(await again.acl.relayInfo(), { name: 'Renamed' });
  });

  it('NIP-56 reports fill the moderation queue, not from banned authors', async () => {
    const { acl, call } = await managed();
    const target = 'cd'.repeat(32);
    acl.eventStored(signedEvent(alice, { kind: 1984, tags: [['e', target, 'illegal']] }));
    acl.eventStored(signedEvent(alice, { kind: 1, tags: [['e', 'ef'.repeat(32)]] }));
    await call('banpubkey', bob.pubkey);
    acl.eventStored(signedEvent(bob, { kind: 1984, tags: [['e', 'ab'.repeat(32), 'spam']] }));
    assert.deepEqual(await call('listeventsneedingmoderation'), {
      result: [{ id: target, reason: 'illegal' }],
    });
  });
});

describe('the moderation queue is bounded', () => {
  it(`at ${MAX_MODERATION} pending reports further ones are dropped, and clearing one makes room`, async () => {
    const { acl, call } = await managed();
    const reporter = newKey();
    const ids = Array.from({ length: MAX_MODERATION + 5 }, (_, i) => i.toString(16).padStart(64, '0'));
    for (let i = 0; i < ids.length; i += 500)
      acl.eventStored(
        signedEvent(reporter, { kind: 1984, tags: ids.slice(i, i + 500).map((id) => ['e', id, 'spam']) }),
      );
    const queue = (await call('listeventsneedingmoderation')) as { result: { id: string }[] };
    assert.equal(queue.result.length, MAX_MODERATION);
    assert.ok(!queue.result.some((e) => e.id === ids.at(-1)), 'a report past the bound is dropped');
    await call('banevent', ids[0]);
    acl.eventStored(signedEvent(reporter, { kind: 1984, tags: [['e', ids.at(-1)!, 'spam']] }));
    const after = (await call('listeventsneedingmoderation')) as { result: { id: string }[] };
    assert.ok(
      after.result.some((e) => e.id === ids.at(-1)),
      'room again after banevent',
    );
  });
});

describe('hidden authors in queries', () => {
  const hidden = new Set([bob.pubkey]);
  it('a filter naming authors loses the hidden ones; one without authors is checked', () => {
    const named: NormalizedFilter = { authors: [alice.pubkey, bob.pubkey] };
    assert.deepEqual(withoutHiddenAuthors(named, hidden), {
      filter: { authors: [alice.pubkey] },
      checkEach: false,
    });
    assert.deepEqual(withoutHiddenAuthors({ kinds: [1] }, hidden), {
      filter: { kinds: [1] },
      checkEach: true,
    });
    assert.deepEqual(withoutHiddenAuthors({ kinds: [1] }, undefined), {
      filter: { kinds: [1] },
      checkEach: false,
    });
  });

  it('COUNT subtracts the hidden authors among filters without authors', () => {
    const { counted, subtract } = countSplit([{ kinds: [1] }, { authors: [bob.pubkey] }], hidden);
    assert.deepEqual(counted, [{ kinds: [1] }, { authors: [] }]);
    assert.deepEqual(subtract, [{ kinds: [1], authors: [bob.pubkey] }]);
  });
});
