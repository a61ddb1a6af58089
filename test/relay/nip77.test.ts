/**
 * NIP-77 negentropy on a real relay (ORLY_NEGENTROPY_ENABLED=true), real signed events:
 * nostr-tools' NegentropySync and our own initiator sync against it and find exactly the
 * expected have/need; restricted kinds never leak ids to unauthenticated or unrelated
 * connections; NEG-ERR reasons (blocked:, closed:, invalid:, auth-required:, unsupported:);
 * session replacement, caps, idle expiry and cleanup on disconnect; NIP-11 lists 77 only
 * when enabled. Runs in split mode too (ORLY_TEST_MODE=split: negentropyItems over gRPC).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { nip77 } from 'nostr-tools';
import { Initiator } from '../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../src/negentropy/codec/storage.js';
import { fromHex, toHex } from '../../src/negentropy/codec/types.js';
import { computeEventId, type NostrEvent } from '../../src/protocol/event.js';
import { Clients, type Keys, newKeys, nowSec, rawAuth } from '../helpers/nostr.js';
import { type Frame, type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const require = createRequire(import.meta.url);
/** bcrypto's native BIP-340 signer: real signatures, ~40x faster than nostr-tools for thousands of events. */
const schnorr = require('bcrypto/lib/schnorr') as {
  sign(msg: Buffer, key: Buffer, aux: Buffer): Buffer;
};

function fastSign(
  keys: Keys,
  template: { kind?: number; created_at: number; tags?: string[][]; content?: string },
) {
  const body = {
    pubkey: keys.pk,
    created_at: template.created_at,
    kind: template.kind ?? 1,
    tags: template.tags ?? [],
    content: template.content ?? '',
  };
  const id = computeEventId(body);
  const sig = schnorr.sign(Buffer.from(id, 'hex'), Buffer.from(keys.sk), randomBytes(32)).toString('hex');
  return { id, ...body, sig } as NostrEvent;
}

/** Publishes events pipelined (up to 500 awaiting OK: the relay allows 1000) and checks every OK. */
async function publishAll(client: RawClient, events: readonly NostrEvent[]): Promise<void> {
  const WINDOW = 500;
  for (let i = 0; i < events.length + WINDOW; i++) {
    if (i < events.length) client.send(['EVENT', events[i]]);
    const done = events[i - WINDOW];
    if (done === undefined) continue;
    const ok = await client.next((f) => f[0] === 'OK' && f[1] === done.id, 20_000);
    assert.equal(ok[2], true, `${done.id}: ${ok[3]}`);
  }
}

function negReply(client: RawClient, subId: string, timeoutMs?: number): Promise<Frame> {
  return client.next(
    (f) =>
      (f[0] === 'NEG-MSG' || f[0] === 'NEG-ERR' || f[0] === 'NOTICE') &&
      (f[0] === 'NOTICE' || f[1] === subId),
    timeoutMs,
  );
}

interface SyncOutcome {
  have: Set<string>;
  need: Set<string>;
  rounds: number;
}

/** Our initiator over a raw websocket: NEG-OPEN, NEG-MSG rounds, NEG-CLOSE. Rejects on NEG-ERR. */
async function rawSync(
  client: RawClient,
  subId: string,
  filter: unknown,
  items: readonly { timestamp: number; id: string }[],
  frameSizeLimit = 60_000,
): Promise<SyncOutcome> {
  const ini = new Initiator(SealedVector.fromUnsorted(items), { frameSizeLimit });
  client.send(['NEG-OPEN', subId, filter, toHex(ini.initiate())]);
  let rounds = 0;
  for (;;) {
    const f = await negReply(client, subId);
    if (f[0] !== 'NEG-MSG') throw new Error(`${f[0]}: ${f[2] ?? f[1]}`);
    rounds++;
    const r = ini.reconcile(fromHex(f[2]));
    if (r.next === undefined) break;
    client.send(['NEG-MSG', subId, toHex(r.next)]);
  }
  client.send(['NEG-CLOSE', subId]);
  return { have: new Set(ini.allHave), need: new Set(ini.allNeed), rounds };
}

function itemsOf(events: readonly NostrEvent[]) {
  return events.map((e) => ({ timestamp: e.created_at, id: e.id }));
}

function idSet(events: readonly NostrEvent[]): Set<string> {
  return new Set(events.map((e) => e.id));
}

async function nip11(t: TestRelay): Promise<{ supported_nips: number[] }> {
  const res = await fetch(t.httpUrl, { headers: { Accept: 'application/nostr+json', Connection: 'close' } });
  return (await res.json()) as { supported_nips: number[] };
}

const clients = new Clients();
let t: TestRelay;
const alice = newKeys();
const bob = newKeys();
const carol = newKeys();
const writer = newKeys();
const now = nowSec();

/** Events on the relay and in the client's local set. */
const shared: NostrEvent[] = [];
const relayOnly: NostrEvent[] = [];
const clientOnly: NostrEvent[] = [];
/** Restricted-kind events: DMs alice -> bob and a gift wrap to bob. */
const restricted: NostrEvent[] = [];

before(async () => {
  t = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
  // 2,000 shared, 400 relay-only, 400 client-only; clustered created_at with many equal values.
  for (let i = 0; i < 2800; i++) {
    const created_at = now - 10_000 - Math.floor(i / 7) * 13;
    const ev = fastSign(writer, {
      created_at,
      content: `note ${i}`,
      kind: i % 5 === 0 ? 30023 : 1,
      tags: i % 5 === 0 ? [['d', `d${i}`]] : [],
    });
    if (i % 7 === 3) relayOnly.push(ev);
    else if (i % 7 === 5) clientOnly.push(ev);
    else shared.push(ev);
  }
  for (let i = 0; i < 6; i++) {
    restricted.push(
      fastSign(alice, { kind: 4, created_at: now - 5000 - i, tags: [['p', bob.pk]], content: `dm ${i}` }),
    );
  }
  restricted.push(
    fastSign(carol, { kind: 1059, created_at: now - 4000, tags: [['p', bob.pk]], content: 'wrap' }),
  );
  const c = await clients.raw(t.url);
  await publishAll(c, [...shared, ...relayOnly, ...restricted]);
});

after(async () => {
  await clients.closeAll();
  await t?.stop();
});

describe('NIP-77 sync against the relay', () => {
  it('NIP-11 lists 77 when enabled', async () => {
    assert.ok((await nip11(t)).supported_nips.includes(77));
  });

  it("nostr-tools' NegentropySync finds exactly the expected have/need", async () => {
    const relay = await clients.nostrTools(t.url);
    const storage = new nip77.NegentropyStorageVector();
    for (const ev of [...shared, ...clientOnly]) storage.insert(ev.created_at, ev.id);
    storage.seal();
    const have = new Set<string>();
    const need = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('sync timed out')), 20_000);
      const sync = new nip77.NegentropySync(
        relay,
        storage,
        { authors: [writer.pk] },
        {
          onhave: (id) => have.add(id),
          onneed: (id) => need.add(id),
          onclose: (reason) => {
            clearTimeout(timer);
            if (reason) reject(new Error(reason));
            else resolve();
          },
        },
      );
      sync.start().catch(reject);
    });
    assert.deepEqual(have, idSet(clientOnly));
    assert.deepEqual(need, idSet(relayOnly));
  });

  it('our initiator finds the same over small frames (4096 bytes, many rounds), with a kinds filter', async () => {
    const c = await clients.raw(t.url);
    const local = [...shared, ...clientOnly].filter((e) => e.kind === 1);
    const r = await rawSync(c, 'small-frames', { kinds: [1] }, itemsOf(local), 4096);
    assert.deepEqual(r.have, idSet(clientOnly.filter((e) => e.kind === 1)));
    assert.deepEqual(r.need, idSet(relayOnly.filter((e) => e.kind === 1)));
    assert.ok(r.rounds > 1, `${r.rounds} rounds`);
  });

  it('an empty client learns every id a REQ would serve (accepts a one-element filter array)', async () => {
    const c = await clients.raw(t.url);
    const r = await rawSync(c, 'all', [{ authors: [writer.pk] }], []);
    assert.equal(r.have.size, 0);
    assert.deepEqual(r.need, idSet([...shared, ...relayOnly]));
  });

  it('/metrics counts open sessions (orly_negentropy_sessions)', async () => {
    const sessions = async (): Promise<number> => {
      const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
      return Number(/^orly_negentropy_sessions (\d+)/m.exec(text)?.[1]);
    };
    const c = await clients.raw(t.url);
    const before = await sessions();
    // A one-item set against many: the reply asks for another round, so the session stays open.
    c.send(['NEG-OPEN', 'metered', { authors: [writer.pk] }, '6100000200']);
    assert.equal((await c.next((f) => f[1] === 'metered'))[0], 'NEG-MSG');
    assert.equal(await sessions(), before + 1);
    c.send(['NEG-CLOSE', 'metered']);
    await c.roundTrip();
    assert.equal(await sessions(), before);
  });

  it('a limit keeps the newest events, like a REQ with that limit', async () => {
    const c = await clients.raw(t.url);
    const r = await rawSync(c, 'limited', { authors: [writer.pk], kinds: [1], limit: 50 }, []);
    const req = await c.query('req-limited', { authors: [writer.pk], kinds: [1], limit: 50 });
    assert.deepEqual(r.need, new Set(req.map((e) => e.id as string)));
  });
});

describe('restricted kinds never leak', () => {
  const dmIds = () => idSet(restricted);

  it('unauthenticated: {} syncs everything but the restricted events', async () => {
    const c = await clients.raw(t.url);
    const r = await rawSync(c, 'anon', {}, []);
    for (const id of dmIds()) assert.ok(!r.need.has(id), 'restricted id leaked');
    assert.deepEqual(r.need, idSet([...shared, ...relayOnly]));
  });

  it('unauthenticated: naming a restricted kind is refused with the REQ reason', async () => {
    const c = await clients.raw(t.url);
    c.send(['NEG-OPEN', 'dm', { kinds: [4] }, '6100000200']);
    const neg = await negReply(c, 'dm');
    c.send(['REQ', 'dm-req', { kinds: [4] }]);
    const closed = await c.nextOfType('CLOSED');
    assert.equal(neg[0], 'NEG-ERR');
    assert.match(neg[2], /^auth-required: /);
    assert.equal(neg[2], closed[2]);
  });

  it('authenticated as an unrelated pubkey: none of the DMs', async () => {
    const c = await clients.raw(t.url);
    await rawAuth(c, newKeys(), t.url);
    const r = await rawSync(c, 'stranger', { kinds: [4, 1059] }, []);
    assert.equal(r.need.size, 0);
    const all = await rawSync(c, 'stranger-all', {}, []);
    for (const id of dmIds()) assert.ok(!all.need.has(id), 'restricted id leaked');
  });

  it('authenticated as the recipient: the DMs and the wrap; as the author: only the DMs', async () => {
    const asBob = await clients.raw(t.url);
    await rawAuth(asBob, bob, t.url);
    const forBob = await rawSync(asBob, 'bob', { kinds: [4, 1059] }, []);
    assert.deepEqual(forBob.need, dmIds());
    const asAlice = await clients.raw(t.url);
    await rawAuth(asAlice, alice, t.url);
    const forAlice = await rawSync(asAlice, 'alice', {}, []);
    for (const ev of restricted) assert.equal(forAlice.need.has(ev.id), ev.kind === 4, `kind ${ev.kind}`);
  });
});

describe('NEG-* messages and errors', () => {
  it('unsupported version: the reply is the single byte 61', async () => {
    const c = await clients.raw(t.url);
    c.send(['NEG-OPEN', 'v2', {}, '6200000200']);
    assert.deepEqual(await negReply(c, 'v2'), ['NEG-MSG', 'v2', '61']);
  });

  it('bad hex, malformed messages and bad filters get NEG-ERR invalid:/unsupported:, like REQ', async () => {
    const c = await clients.raw(t.url);
    const expectErr = async (subId: string, frame: unknown[], pattern: RegExp) => {
      c.send(frame);
      const f = await negReply(c, subId);
      assert.equal(f[0], 'NEG-ERR', JSON.stringify(f));
      assert.match(f[2], pattern);
      return f[2] as string;
    };
    await expectErr('h1', ['NEG-OPEN', 'h1', {}, 'zz'], /^invalid: /);
    await expectErr('h2', ['NEG-OPEN', 'h2', {}, '610'], /^invalid: /);
    await expectErr(
      'h3',
      ['NEG-OPEN', 'h3', {}, '61000003'],
      /^invalid: negentropy message: unexpected mode/,
    );
    await expectErr('h4', ['NEG-OPEN', 'h4', {}, 42], /^invalid: /);
    await expectErr('h5', ['NEG-OPEN', 'h5', {}], /^invalid: /);
    await expectErr('h6', ['NEG-OPEN', 'h6', {}, '70'], /^invalid: .*version/);
    await expectErr('f1', ['NEG-OPEN', 'f1', 'x', '6100000200'], /^invalid: /);
    await expectErr('f2', ['NEG-OPEN', 'f2', [{}, {}], '6100000200'], /^invalid: /);
    for (const [subId, filter] of [
      ['f3', { ids: ['xyz'] }],
      ['f4', { foo: 1 }],
      ['f5', { kinds: 'x' }],
    ] as const) {
      c.send(['NEG-OPEN', subId, filter, '6100000200']);
      const neg = await negReply(c, subId);
      c.send(['REQ', `${subId}-req`, filter]);
      const closed = await c.next((f) => f[0] === 'CLOSED' && f[1] === `${subId}-req`);
      assert.equal(neg[0], 'NEG-ERR');
      assert.equal(neg[2], closed[2], 'the same reason as REQ');
      assert.match(neg[2], /^(invalid|unsupported): /);
    }
    c.send(['NEG-OPEN', 'x'.repeat(65), {}, '6100000200']);
    assert.match((await c.nextOfType('NEG-ERR'))[2], /^invalid: /);
  });

  it('NEG-MSG: unknown id -> closed:, malformed -> invalid: and the session is gone', async () => {
    const c = await clients.raw(t.url);
    c.send(['NEG-MSG', 'nope', '6100000200']);
    assert.deepEqual(await negReply(c, 'nope'), ['NEG-ERR', 'nope', 'closed: unknown subscription handle']);
    // Open a session that needs more rounds, then send garbage.
    const ini = new Initiator(SealedVector.fromUnsorted(itemsOf(shared)), { frameSizeLimit: 4096 });
    c.send(['NEG-OPEN', 's', {}, toHex(ini.initiate())]);
    assert.equal((await negReply(c, 's'))[0], 'NEG-MSG');
    c.send(['NEG-MSG', 's', 'not hex']);
    assert.match((await negReply(c, 's'))[2], /^invalid: /);
    c.send(['NEG-MSG', 's', '6100000200']);
    assert.match((await negReply(c, 's'))[2], /^closed: /);
  });

  it('NEG-CLOSE frees the session; a CLOSE for a NEG id is ignored quietly', async () => {
    const c = await clients.raw(t.url);
    const ini = new Initiator(SealedVector.fromUnsorted(itemsOf(shared)), { frameSizeLimit: 4096 });
    c.send(['NEG-OPEN', 'n', {}, toHex(ini.initiate())]);
    const first = await negReply(c, 'n');
    assert.equal(first[0], 'NEG-MSG');
    c.send(['CLOSE', 'n']); // REQ namespace: nothing to close, no reply
    const next = ini.reconcile(fromHex(first[2])).next!;
    c.send(['NEG-MSG', 'n', toHex(next)]);
    assert.equal((await negReply(c, 'n'))[0], 'NEG-MSG', 'the NEG session survived the CLOSE');
    c.send(['NEG-CLOSE', 'n']);
    c.send(['NEG-MSG', 'n', toHex(next)]);
    assert.match((await negReply(c, 'n'))[2], /^closed: /);
    // Sentinel: a round trip sent after both; an answer to the CLOSE or the NEG-CLOSE would precede it.
    await c.roundTrip();
    assert.deepEqual(
      c.frames.filter((f) => f[0] !== 'AUTH'),
      [],
      'no other frame (no CLOSED, no NOTICE)',
    );
  });

  it('a NEG-OPEN on an open id replaces the session', async () => {
    const c = await clients.raw(t.url);
    const first = await rawSync(c, 'same', { kinds: [30023] }, []);
    assert.equal(first.need.size, [...shared, ...relayOnly].filter((e) => e.kind === 30023).length);
    // Open twice without closing: the second filter wins.
    c.send(['NEG-OPEN', 'r', { kinds: [30023] }, '6100000200']);
    c.send(['NEG-OPEN', 'r', { kinds: [999] }, '6100000200']);
    // The first NEG-OPEN's reply is dropped if the second one arrived before its query finished;
    // if it is sent, it comes first. Wait for the second one's (kinds 999 matches nothing).
    const replies = [await negReply(c, 'r')];
    if (replies[0]![2] !== '6100000200') replies.push(await negReply(c, 'r'));
    assert.equal(replies.at(-1)![2], '6100000200', 'kinds 999 matches nothing');
    // Sentinel: the first NEG-OPEN's work again, on another id and started after it. A late reply
    // to the replaced session would have come before this one's.
    c.send(['NEG-OPEN', 'r-sentinel', { kinds: [30023] }, '6100000200']);
    assert.equal((await negReply(c, 'r-sentinel'))[0], 'NEG-MSG');
    c.send(['NEG-CLOSE', 'r-sentinel']);
    await c.roundTrip();
    assert.deepEqual(
      c.frames.filter((f) => f[1] === 'r'),
      [],
      'no reply to the replaced session after the replacement',
    );
    assert.ok(t.relay.negentropy!.total <= 1);
  });

  it('disconnecting frees every session of the connection', async () => {
    const c = await clients.raw(t.url);
    const before = t.relay.negentropy!.total;
    const msg = toHex(
      new Initiator(SealedVector.fromUnsorted(itemsOf(shared)), { frameSizeLimit: 4096 }).initiate(),
    );
    for (const id of ['d1', 'd2', 'd3']) {
      c.send(['NEG-OPEN', id, {}, msg]);
      await negReply(c, id);
    }
    assert.equal(t.relay.negentropy!.total, before + 3);
    await c.close();
    await waitFor(
      () => t.relay.negentropy!.total === before,
      5000,
      () => `${before} sessions (${t.relay.negentropy!.total})`,
    );
  });
});

describe('limits (a relay with tight settings)', () => {
  let tight: TestRelay;
  const events: NostrEvent[] = [];

  before(async () => {
    tight = await startTestRelay({
      ORLY_NEGENTROPY_ENABLED: 'true',
      ORLY_NEGENTROPY_MAX_RECORDS: '300',
      ORLY_NEGENTROPY_MAX_SESSIONS: '2',
      ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT: '1s',
      ORLY_NEGENTROPY_FRAME_SIZE: '4096',
    });
    for (let i = 0; i < 320; i++)
      events.push(fastSign(writer, { created_at: now - 100 - i, content: `t${i}` }));
    await publishAll(await clients.raw(tight.url), events);
  });

  after(async () => {
    await tight?.stop();
  });

  it("more matches than ORLY_NEGENTROPY_MAX_RECORDS: strfry's NEG-ERR with the cap as 4th element", async () => {
    const c = await clients.raw(tight.url);
    c.send(['NEG-OPEN', 'big', {}, '6100000200']);
    assert.deepEqual(await negReply(c, 'big'), ['NEG-ERR', 'big', 'blocked: too many query results', 300]);
    // With a limit below the cap the same filter works (the newest events), and so does a narrower filter.
    const r = await rawSync(c, 'ok', { limit: 25 }, []);
    assert.deepEqual(r.need, idSet(events.slice(0, 25)));
    const all = await rawSync(c, 'ok2', { since: now - 100 - 299 }, []);
    assert.equal(all.need.size, 300);
  });

  it('the relay frame limit (4096) is honoured and an empty client still gets every id', async () => {
    const c = await clients.raw(tight.url);
    const raw: string[] = [];
    c.ws.on('message', (d) => raw.push(d.toString()));
    const r = await rawSync(c, 'frames', { limit: 300 }, []);
    assert.deepEqual(r.need, idSet(events.slice(0, 300)));
    assert.ok(r.rounds >= 3, `${r.rounds} rounds: 300 ids do not fit one 4096-byte frame`);
    for (const frame of raw) {
      const f = JSON.parse(frame) as Frame;
      if (f[0] === 'NEG-MSG') assert.ok(f[2].length / 2 <= 4096);
    }
  });

  it('at most ORLY_NEGENTROPY_MAX_SESSIONS per connection; replacing an id does not count twice', async () => {
    const c = await clients.raw(tight.url);
    for (const id of ['a', 'b']) {
      c.send(['NEG-OPEN', id, { limit: 5 }, '6100000200']);
      assert.equal((await negReply(c, id))[0], 'NEG-MSG');
    }
    c.send(['NEG-OPEN', 'c', { limit: 5 }, '6100000200']);
    assert.match((await negReply(c, 'c'))[2], /^blocked: too many open negentropy sessions/);
    c.send(['NEG-OPEN', 'a', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(c, 'a'))[0], 'NEG-MSG');
    c.send(['NEG-CLOSE', 'b']);
    c.send(['NEG-OPEN', 'c', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(c, 'c'))[0], 'NEG-MSG');
    // Another connection has its own allowance.
    const other = await clients.raw(tight.url);
    other.send(['NEG-OPEN', 'a', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(other, 'a'))[0], 'NEG-MSG');
  });

  it('idle sessions expire after ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT with NEG-ERR closed:', async () => {
    const c = await clients.raw(tight.url);
    c.send(['NEG-OPEN', 'idle', { limit: 5 }, '6100000200']);
    assert.equal((await negReply(c, 'idle'))[0], 'NEG-MSG');
    const expired = await negReply(c, 'idle', 3000);
    assert.equal(expired[0], 'NEG-ERR');
    assert.match(expired[2], /^closed: /);
    c.send(['NEG-MSG', 'idle', '6100000200']);
    assert.deepEqual(await negReply(c, 'idle'), ['NEG-ERR', 'idle', 'closed: unknown subscription handle']);
  });
});

describe('NIP-77 disabled (the default)', () => {
  let off: TestRelay;

  before(async () => {
    off = await startTestRelay();
  });

  after(async () => {
    await off?.stop();
  });

  it('NIP-11 does not list 77; NEG-OPEN/NEG-MSG get a NOTICE unsupported:, NEG-CLOSE nothing', async () => {
    assert.ok(!(await nip11(off)).supported_nips.includes(77));
    const c = await clients.raw(off.url);
    c.send(['NEG-OPEN', 'x', {}, '6100000200']);
    assert.match((await c.nextOfType('NOTICE'))[1], /^unsupported: /);
    c.send(['NEG-MSG', 'x', '6100000200']);
    assert.match((await c.nextOfType('NOTICE'))[1], /^unsupported: /);
    c.send(['NEG-CLOSE', 'x']);
    // Sentinel: a round trip sent after the NEG-CLOSE; an answer to it would precede the round trip's.
    await c.roundTrip();
    assert.deepEqual(
      c.frames.filter((f) => f[0] !== 'AUTH'),
      [],
    );
  });
});
