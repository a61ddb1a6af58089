/**
 * A write policy's per-reader ReadScope (src/protocol/read-scope.ts) on every read path of a
 * real relay (real LMDB, or orly-db in split mode; real signed events; raw and nostr-tools
 * clients): REQ with and without query workers, COUNT, live delivery and NIP-77 NEG-OPEN. The
 * policy is a small WritePolicy object (accepts every event) whose readScope follows the rule
 * of scopeFor() below. It applies alongside the relay's restricted kinds (4 and 1059 here).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WritePolicy } from '../../src/acl/policy/plugin-protocol.js';
import type { NostrEvent } from '../../src/protocol/event.js';
import type { ReadScope } from '../../src/protocol/read-scope.js';
import type { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import {
  Clients,
  fetchEvents,
  type Keys,
  newKeys,
  nowSec,
  rawAuth,
  sign,
  signerFor,
} from '../helpers/nostr.js';
import { LMDB_MODE, type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { negReply, rawSync } from './nip77/nip77-fixtures.js';

/** Served to nobody but the admin. */
const HIDDEN = 7001;
/** Served only to its author or a p-tagged reader (the admin: to everyone). */
const INVOLVED = 7002;

const alice = newKeys();
const bob = newKeys();
const carol = newKeys();
/** Its scope: every kind needs involvement (a global `privileged`). */
const dave = newKeys();
/** Refused: may read nothing. */
const mallory = newKeys();
/** Open scope: only the relay's own restrictions. */
const admin = newKeys();
const writer = newKeys();

const REFUSAL = 'restricted: this reader may not read here';
const EMPTY: ReadonlySet<number> = new Set();

/** The test policy's rule, from the reader's authed pubkeys. */
function scopeFor(authed: ReadonlySet<string>): ReadScope | undefined {
  if (authed.has(mallory.pk))
    return { refused: REFUSAL, hiddenKinds: EMPTY, involvedKinds: EMPTY, allInvolved: false };
  if (authed.has(admin.pk)) return undefined;
  if (authed.has(dave.pk)) return { hiddenKinds: new Set([HIDDEN]), involvedKinds: EMPTY, allInvolved: true };
  return { hiddenKinds: new Set([HIDDEN]), involvedKinds: new Set([INVOLVED]), allInvolved: false };
}

const policy: WritePolicy = {
  decide: async () => ({ action: 'accept' }),
  readScope: (reader) => scopeFor(reader.authed),
  stop: async () => {},
};

const base = nowSec() - 3600;
let at = base;
const ev = (keys: Keys, kind: number, tags: string[][] = [], content = '') =>
  sign(keys, { kind, created_at: at++, tags, content });

// Stored before the REQs (oldest first).
const hidden = ev(alice, HIDDEN, [['p', bob.pk]], 'hidden');
const involvedBob = ev(alice, INVOLVED, [['p', bob.pk]], 'alice to bob');
const involvedCarol = ev(carol, INVOLVED, [], 'carol alone');
const dm = ev(alice, 4, [['p', bob.pk]], 'dm');
const daveOwn = ev(dave, 1, [], 'dave writes');
const toDave = ev(writer, 1, [['p', dave.pk]], 'to dave');
/** Newer than dave's events: a limited REQ of dave's must page past them. */
const open = Array.from({ length: 6 }, (_, i) => ev(writer, 1, [], `open ${i}`));
const stored = [hidden, involvedBob, involvedCarol, dm, daveOwn, toDave, ...open];

const ids = (events: readonly object[]) => new Set(events.map((e) => (e as { id: string }).id));
const idsOf = (...events: NostrEvent[]) => ids(events);

/** What each reader may read of `stored`. */
const expected = {
  anon: idsOf(daveOwn, toDave, ...open),
  bob: idsOf(involvedBob, dm, daveOwn, toDave, ...open),
  alice: idsOf(involvedBob, dm, daveOwn, toDave, ...open),
  carol: idsOf(involvedCarol, daveOwn, toDave, ...open),
  dave: idsOf(daveOwn, toDave),
  admin: idsOf(hidden, involvedBob, involvedCarol, daveOwn, toDave, ...open),
};

const clients = new Clients();

async function as(t: TestRelay, keys?: Keys): Promise<RawClient> {
  const c = await clients.raw(t.url);
  if (keys !== undefined) assert.equal((await rawAuth(c, keys, t.url))[2], true);
  return c;
}

async function count(c: RawClient, id: string, ...filters: unknown[]): Promise<unknown> {
  c.send(['COUNT', id, ...filters]);
  const f = await c.next((x) => (x[0] === 'COUNT' || x[0] === 'CLOSED') && x[1] === id);
  return f[0] === 'COUNT' ? f[2].count : f;
}

const poolOf = (t: TestRelay) => (t.relay.store as LmdbEventStore).queryPool;

// Split mode: the relay queries orly-db in its event loop (no query workers): one configuration.
for (const workers of LMDB_MODE ? ['2', '0'] : ['0']) {
  describe(`read scope (query workers: ${workers})`, () => {
    let t: TestRelay;

    before(async () => {
      t = await startTestRelay({ ORLY_QUERY_WORKERS: workers, ORLY_NEGENTROPY_ENABLED: 'true' }, undefined, {
        writePolicy: policy,
      });
      if (LMDB_MODE) assert.equal(poolOf(t)?.readyWorkers ?? 0, Number(workers));
      const c = await as(t);
      for (const e of stored) assert.equal((await c.publish(e))[2], true, e.content);
    });
    after(async () => {
      await clients.closeAll();
      await t?.stop();
    });

    it('REQ without kinds: hidden kinds skipped, involved kinds only to their author or p-tagged reader', async () => {
      const readers: [keyof typeof expected, Keys | undefined][] = [
        ['anon', undefined],
        ['bob', bob],
        ['alice', alice],
        ['carol', carol],
        ['dave', dave],
        ['admin', admin],
      ];
      for (const [name, keys] of readers) {
        const c = await as(t, keys);
        assert.deepEqual(ids(await c.query(`all-${name}`, { since: base })), expected[name], name);
        // The worker / store applies the limit after the checks: still the newest visible ones.
        const two = await c.query(`two-${name}`, { since: base, limit: 2 });
        assert.equal(two.length, Math.min(2, expected[name].size), name);
        for (const e of two) assert.ok(expected[name].has(e.id as string), `${name}: ${e.content}`);
      }
    });

    it('REQ naming a hidden kind: EOSE without it (with other kinds: those are still served)', async () => {
      const c = await as(t, bob);
      assert.deepEqual(await c.query('h', { kinds: [HIDDEN] }), []);
      assert.deepEqual(ids(await c.query('h1', { kinds: [HIDDEN, INVOLVED] })), idsOf(involvedBob));
      const asAdmin = await as(t, admin);
      assert.deepEqual(ids(await asAdmin.query('ha', { kinds: [HIDDEN] })), idsOf(hidden));
    });

    it('involved kinds: nothing unauthenticated, the p-tagged reader and the author see theirs', async () => {
      const anon = await as(t);
      assert.deepEqual(await anon.query('i', { kinds: [INVOLVED] }), []);
      assert.deepEqual(ids(await (await as(t, bob)).query('i', { kinds: [INVOLVED] })), idsOf(involvedBob));
      assert.deepEqual(ids(await (await as(t, alice)).query('i', { kinds: [INVOLVED] })), idsOf(involvedBob));
      assert.deepEqual(
        ids(await (await as(t, carol)).query('i', { kinds: [INVOLVED] })),
        idsOf(involvedCarol),
      );
      // nostr-tools, authenticated as the recipient.
      const tools = await clients.nostrTools(t.url);
      assert.equal(await tools.count([{ ids: ['00'.repeat(32)] }], {}), 0);
      await tools.auth(signerFor(bob));
      assert.deepEqual(ids(await fetchEvents(tools, [{ kinds: [INVOLVED, HIDDEN] }])), idsOf(involvedBob));
    });

    it('allInvolved: only the events the reader wrote or is p-tagged in, whatever the filter', async () => {
      const c = await as(t, dave);
      assert.deepEqual(ids(await c.query('d', { kinds: [1] })), idsOf(daveOwn, toDave));
      assert.deepEqual(ids(await c.query('d1', { kinds: [1], limit: 1 })), idsOf(toDave));
      assert.deepEqual(ids(await c.query('d2', { authors: [writer.pk] })), idsOf(toDave));
    });

    it('refused: REQ and COUNT are CLOSED with the reason, NEG-OPEN gets NEG-ERR', async () => {
      const c = await as(t, mallory);
      await assert.rejects(c.query('r', { kinds: [1] }), { message: `CLOSED: ${REFUSAL}` });
      assert.deepEqual(await count(c, 'rc', {}), ['CLOSED', 'rc', REFUSAL]);
      c.send(['NEG-OPEN', 'rn', {}, '6100000200']);
      assert.deepEqual(await negReply(c, 'rn'), ['NEG-ERR', 'rn', REFUSAL]);
      const tools = await clients.nostrTools(t.url);
      assert.equal(await tools.count([{ ids: ['00'.repeat(32)] }], {}), 0);
      await tools.auth(signerFor(mallory));
      await assert.rejects(fetchEvents(tools, [{}]), { message: REFUSAL });
    });

    it('COUNT never counts hidden kinds or events the reader is not involved in', async () => {
      const cases: [string, Keys | undefined, Set<string>][] = [
        ['anon', undefined, expected.anon],
        ['bob', bob, expected.bob],
        ['carol', carol, expected.carol],
        ['dave', dave, expected.dave],
        ['admin', admin, expected.admin],
      ];
      for (const [name, keys, visible] of cases) {
        const c = await as(t, keys);
        assert.equal(await count(c, `c-${name}`, { since: base }), visible.size, name);
        const namedKinds = [...visible].filter((id) =>
          [hidden, involvedBob, involvedCarol].some((e) => e.id === id),
        ).length;
        assert.equal(await count(c, `k-${name}`, { kinds: [HIDDEN, INVOLVED] }), namedKinds, name);
        // Two filters that overlap: each event once, still only the readable ones.
        assert.equal(
          await count(c, `o-${name}`, { since: base }, { authors: [writer.pk, alice.pk] }),
          visible.size,
          name,
        );
      }
      const tools = await clients.nostrTools(t.url);
      assert.equal(await tools.count([{ kinds: [HIDDEN] }], {}), 0);
    });

    it('NEG-OPEN: the item set is what a REQ serves the same reader', async () => {
      const readers: [keyof typeof expected, Keys | undefined][] = [
        ['anon', undefined],
        ['bob', bob],
        ['carol', carol],
        ['dave', dave],
        ['admin', admin],
      ];
      for (const [name, keys] of readers) {
        const c = await as(t, keys);
        const all = await rawSync(c, `n-${name}`, { since: base }, []);
        assert.deepEqual(all.need, expected[name], name);
        const kinds = await rawSync(c, `nk-${name}`, { kinds: [HIDDEN, INVOLVED, 1] }, []);
        const reqKinds = ids(await c.query(`rk-${name}`, { kinds: [HIDDEN, INVOLVED, 1] }));
        assert.deepEqual(kinds.need, reqKinds, name);
        const limited = await rawSync(c, `nl-${name}`, { since: base, limit: 2 }, []);
        assert.deepEqual(limited.need, ids(await c.query(`rl-${name}`, { since: base, limit: 2 })), name);
      }
    });

    it('live delivery honours each connection’s scope (including one refused after it subscribed)', async () => {
      const tag = ['t', `live-${workers}`];
      const subs: [string, RawClient][] = [];
      for (const [name, keys] of [
        ['anon', undefined],
        ['bob', bob],
        ['carol', carol],
        ['dave', dave],
        ['admin', admin],
        ['mallory', undefined],
      ] as const) {
        const c = await as(t, keys);
        c.send(['REQ', 'live', { '#t': [tag[1]!] }]);
        await c.next((f) => f[0] === 'EOSE' && f[1] === 'live');
        subs.push([name, c]);
      }
      // Authenticated after subscribing: from now on the policy refuses it.
      const late = subs.find(([name]) => name === 'mallory')![1];
      assert.equal((await rawAuth(late, mallory, t.url))[2], true);

      const pub = await as(t);
      const liveHidden = ev(writer, HIDDEN, [tag], 'live hidden');
      const liveToBob = ev(writer, INVOLVED, [tag, ['p', bob.pk]], 'live to bob');
      const liveCarol = ev(carol, INVOLVED, [tag], 'live carol');
      const liveOpen = ev(writer, 1, [tag], 'live open');
      const sentinel = ev(writer, 1, [tag, ['p', dave.pk]], 'sentinel');
      for (const e of [liveHidden, liveToBob, liveCarol, liveOpen, sentinel])
        assert.equal((await pub.publish(e))[2], true);

      const want: Record<string, Set<string>> = {
        anon: idsOf(liveOpen, sentinel),
        bob: idsOf(liveToBob, liveOpen, sentinel),
        carol: idsOf(liveCarol, liveOpen, sentinel),
        dave: idsOf(sentinel),
        admin: idsOf(liveHidden, liveToBob, liveCarol, liveOpen, sentinel),
      };
      for (const [name, c] of subs) {
        if (name === 'mallory') continue;
        await c.next((f) => f[0] === 'EVENT' && f[2].id === sentinel.id);
        const got = new Set(c.frames.filter((f) => f[0] === 'EVENT').map((f) => f[2].id as string));
        got.add(sentinel.id);
        assert.deepEqual(got, want[name], name);
      }
      await late.roundTrip().catch(() => {});
      assert.deepEqual(
        late.frames.filter((f) => f[0] === 'EVENT'),
        [],
        'a refused reader gets no live event',
      );
    });
  });
}
