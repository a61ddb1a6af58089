/**
 * LocalNegentropyResponder's per-connection session cap (maxSessionsPerConnection, used by
 * orly-sync-negentropy) over a real LMDB store in a temp dir: a new session beyond the cap gets
 * "blocked: too many open negentropy sessions", replacing a subId does not count, opens still
 * running count, closing frees a place, connections are counted apart, no cap without the option.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Reasons } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { Initiator } from '../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../src/negentropy/codec/storage.js';
import { toHex } from '../../src/negentropy/codec/types.js';
import { EMPTY_ITEMS } from '../../src/negentropy/item-set.js';
import { LocalNegentropyResponder } from '../../src/negentropy/local-responder.js';
import type { NegReply } from '../../src/negentropy/responder.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { fastKey, fastSign } from '../helpers/fast-sign.js';

const INITIAL = toHex(new Initiator(SealedVector.fromSorted(EMPTY_ITEMS)).initiate());
const requester = { authed: new Set<string>(), ip: '127.0.0.1' };

describe('LocalNegentropyResponder maxSessionsPerConnection', () => {
  let dir: string;
  let store: LmdbEventStore;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orly-negcap-'));
    store = LmdbEventStore.open(dir);
    const key = fastKey();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 20; i++) {
      const r = await store.save(fastSign(key, { created_at: now - i, content: `cap ${i}` }));
      assert.ok(r.stored);
    }
  });

  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function responder(max?: number): LocalNegentropyResponder {
    return new LocalNegentropyResponder({
      store,
      policy: { restrictedKinds: new Set(), maxRecords: 1000, frameSizeLimit: 0 },
      logger: createLogger('silent'),
      ...(max !== undefined ? { maxSessionsPerConnection: max } : {}),
    });
  }

  const open = (r: LocalNegentropyResponder, conn: string, sub: string): Promise<NegReply> =>
    r.open({ connectionId: conn, subId: sub }, {}, INITIAL, requester);

  const ok = (reply: NegReply): void => assert.ok('message' in reply, JSON.stringify(reply));

  it('refuses a new session beyond the cap; replacing, closing and other connections are fine', async () => {
    const r = responder(2);
    try {
      ok(await open(r, 'c1', 'a'));
      ok(await open(r, 'c1', 'b'));
      assert.deepEqual(await open(r, 'c1', 'c'), { error: Reasons.negTooManySessions(2) });
      assert.equal(
        Reasons.negTooManySessions(2),
        'blocked: too many open negentropy sessions, the limit is 2',
      );
      // Replacing an open subId does not count twice.
      ok(await open(r, 'c1', 'a'));
      ok(await open(r, 'c1', 'b'));
      assert.equal(r.total, 2);
      // Another connection has its own allowance.
      ok(await open(r, 'c2', 'a'));
      ok(await open(r, 'c2', 'c'));
      // A refused open leaves nothing behind; the sessions it did not replace still answer.
      assert.equal(r.total, 4);
      assert.ok('message' in (await r.message({ connectionId: 'c1', subId: 'a' }, INITIAL)));
      // Closing frees a place.
      r.close({ connectionId: 'c1', subId: 'b' });
      ok(await open(r, 'c1', 'c'));
      r.closeConnection('c1');
      ok(await open(r, 'c1', 'x'));
      ok(await open(r, 'c1', 'y'));
    } finally {
      await r.shutdown();
    }
  });

  it('opens still running count against the cap', async () => {
    const r = responder(1);
    try {
      const first = open(r, 'c', 'a');
      const second = open(r, 'c', 'b');
      ok(await first);
      assert.deepEqual(await second, { error: Reasons.negTooManySessions(1) });
    } finally {
      await r.shutdown();
    }
  });

  it('a malformed message is reported as such even at the cap', async () => {
    const r = responder(1);
    try {
      ok(await open(r, 'c', 'a'));
      const bad = await r.open({ connectionId: 'c', subId: 'b' }, {}, 'zz', requester);
      assert.ok('error' in bad && bad.error.startsWith('invalid: '), JSON.stringify(bad));
    } finally {
      await r.shutdown();
    }
  });

  it('no cap without the option (inside the relay, which enforces its own)', async () => {
    const r = responder();
    try {
      for (let i = 0; i < 20; i++) ok(await open(r, 'c', `s${i}`));
      assert.equal(r.total, 20);
    } finally {
      await r.shutdown();
    }
  });

  it('item budget: total and per address; items come back on close, replace and disconnect', async () => {
    // 20 events per set; 50 items in all, 30 per address.
    const r = new LocalNegentropyResponder({
      store,
      policy: { restrictedKinds: new Set(), maxRecords: 1000, frameSizeLimit: 0 },
      logger: createLogger('silent'),
      maxItemsTotal: 50,
      maxItemsPerIp: 30,
    });
    const from = (ip: string) => ({ authed: new Set<string>(), ip });
    const openAs = (ip: string, conn: string, sub: string) =>
      r.open({ connectionId: conn, subId: sub }, {}, INITIAL, from(ip));
    ok(await openAs('10.0.0.1', 'a', 's1'));
    assert.equal(r.heldItems, 20);
    assert.deepEqual(
      await openAs('10.0.0.1', 'a', 's2'),
      { error: Reasons.negBudgetExhausted },
      'per address',
    );
    ok(await openAs('10.0.0.2', 'b', 's1'));
    assert.deepEqual(await openAs('10.0.0.3', 'c', 's1'), { error: Reasons.negBudgetExhausted }, 'in all');
    assert.equal(r.heldItems, 40);
    // Replacing a session gives its items back before the new set is counted.
    ok(await openAs('10.0.0.2', 'b', 's1'));
    assert.equal(r.heldItems, 40);
    r.close({ connectionId: 'a', subId: 's1' });
    assert.equal(r.heldItems, 20);
    ok(await openAs('10.0.0.3', 'c', 's1'));
    r.closeConnection('b');
    r.closeConnection('c');
    assert.equal(r.heldItems, 0);
    await r.shutdown();
  });
});
