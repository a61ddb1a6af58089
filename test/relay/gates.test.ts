/**
 * The access gates over real sockets (src/relay/gates.ts): ORLY_AUTH_REQUIRED (REQ, COUNT,
 * NEG-OPEN and EVENT need NIP-42 AUTH; AUTH, CLOSE and NEG-CLOSE do not), ORLY_AUTH_TO_WRITE
 * (EVENT alone needs AUTH) and ORLY_MIN_POW_DIFFICULTY (NIP-13: leading zero bits of the id,
 * and no committed target below the minimum), each refused with its exact reason before the
 * signature is verified, accepted once AUTH (or the work) is done; and their NIP-11 fields.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getPow, minePow } from 'nostr-tools/nip13';
import { Reasons } from '../../src/errors.js';
import { computeEventId, type NostrEvent } from '../../src/protocol/event.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { relayInformation } from '../../src/relay/nip11.js';
import {
  Clients,
  challengeOf,
  hasPrefix,
  type Keys,
  newKeys,
  nowSec,
  plain,
  rawAuth,
  sign,
  signId,
} from '../helpers/nostr.js';
import type { RawClient, TestRelay } from '../helpers/relay-harness.js';
import { useTestRelay } from '../helpers/use-test-relay.js';
import { rawSync } from './nip77/nip77-fixtures.js';

const MIN_POW = 10;

async function nip11(
  t: TestRelay,
): Promise<{ supported_nips: number[]; limitation: Record<string, unknown> }> {
  const res = await fetch(t.httpUrl, { headers: { Accept: 'application/nostr+json', Connection: 'close' } });
  assert.equal(res.status, 200);
  return (await res.json()) as { supported_nips: number[]; limitation: Record<string, unknown> };
}

async function authed(clients: Clients, t: TestRelay, ...keys: Keys[]): Promise<RawClient> {
  const c = await clients.raw(t.url);
  for (const k of keys) {
    const ok = await rawAuth(c, k, t.url);
    assert.deepEqual(ok.slice(2), [true, ''], `AUTH as ${k.pk}`);
  }
  return c;
}

/** The CLOSED (or EOSE / COUNT) answer to a REQ or COUNT of `id`. */
function answerTo(c: RawClient, id: string) {
  return c.next((f) => ['CLOSED', 'EOSE', 'COUNT', 'EVENT'].includes(f[0]) && f[1] === id);
}

/** The event with a signature that does not verify (the id still matches). */
function badSig(ev: NostrEvent): NostrEvent {
  return { ...ev, sig: ev.sig.replace(/^./, (ch) => (ch === '0' ? '1' : '0')) };
}

/**
 * An event whose id has at least `min` leading zero bits, mined over a nonce tag built by
 * `nonceTag(counter)`, signed by `keys` (the id is the relay's NIP-01 serialization).
 */
function mine(keys: Keys, min: number, nonceTag: (counter: number) => string[]): NostrEvent {
  const created_at = nowSec();
  for (let counter = 0; ; counter++) {
    const fields = { pubkey: keys.pk, created_at, kind: 1, tags: [nonceTag(counter)], content: 'worked' };
    const id = computeEventId(fields);
    if (getPow(id) >= min) return plain({ id, ...fields, sig: signId(keys, id) });
  }
}

describe('ORLY_AUTH_REQUIRED', () => {
  const clients = new Clients();
  const owner = newKeys();
  const t = useTestRelay(clients, {
    ORLY_AUTH_REQUIRED: 'true',
    ORLY_NEGENTROPY_ENABLED: 'true',
    ORLY_OWNERS: owner.pk,
  });

  it('before AUTH: REQ and COUNT get CLOSED, NEG-OPEN NEG-ERR, EVENT OK false, all "auth-required:"', async () => {
    const c = await clients.raw(t.url);
    assert.match(await challengeOf(c), /^[0-9a-f]{32}$/, 'the challenge is sent on connect');
    c.send(['REQ', 'r', { kinds: [1] }]);
    assert.deepEqual(await answerTo(c, 'r'), ['CLOSED', 'r', Reasons.authRequired]);
    c.send(['COUNT', 'n', { kinds: [1] }]);
    assert.deepEqual(await answerTo(c, 'n'), ['CLOSED', 'n', Reasons.authRequired]);
    c.send(['NEG-OPEN', 'g', {}, '6100000200']);
    assert.deepEqual(await c.next((f) => f[1] === 'g'), ['NEG-ERR', 'g', Reasons.authRequired]);
    const ev = sign(newKeys(), { content: 'before auth' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, false, Reasons.authRequired]);
    assert.match(Reasons.authRequired, hasPrefix('auth-required'));
    // Not stored: an authenticated reader does not find it.
    const reader = await authed(clients, t, newKeys());
    assert.deepEqual(await reader.query('q', { ids: [ev.id] }), []);
  });

  it('the gate comes before the signature check: an unauthenticated bad signature gets auth-required', async () => {
    const c = await clients.raw(t.url);
    const ev = badSig(sign(newKeys()));
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, false, Reasons.authRequired]);
  });

  it('CLOSE and NEG-CLOSE are answered by nothing, AUTH by OK, without AUTH', async () => {
    const c = await clients.raw(t.url);
    await challengeOf(c);
    c.send(['CLOSE', 'nothing-open']);
    c.send(['NEG-CLOSE', 'nothing-open']);
    // Frames are handled in order: whatever CLOSE or NEG-CLOSE answered would come before this.
    c.send(['REQ', 'sentinel', {}]);
    assert.deepEqual(await answerTo(c, 'sentinel'), ['CLOSED', 'sentinel', Reasons.authRequired]);
    assert.deepEqual(c.frames, []);
    assert.deepEqual((await rawAuth(c, newKeys(), t.url)).slice(2), [true, '']);
  });

  it('after AUTH: EVENT is stored, REQ, COUNT and NEG-OPEN are served', async () => {
    const me = newKeys();
    const c = await clients.raw(t.url);
    assert.deepEqual((await rawAuth(c, me, t.url)).slice(2), [true, '']);
    const ev = sign(me, { content: 'after auth' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    assert.deepEqual(
      (await c.query('r', { ids: [ev.id] })).map((e) => e.id),
      [ev.id],
    );
    c.send(['COUNT', 'n', { ids: [ev.id] }]);
    assert.deepEqual(await answerTo(c, 'n'), ['COUNT', 'n', { count: 1 }]);
    const synced = await rawSync(c, 'g', { ids: [ev.id] }, []);
    assert.deepEqual([...synced.need], [ev.id]);
  });

  it('any pubkey the connection authenticated as will do, whoever wrote the event', async () => {
    const author = newKeys();
    const c = await authed(clients, t, newKeys(), newKeys());
    const ev = sign(author, { content: 'published for someone else' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    // Another connection is not authenticated by this one's AUTH.
    const other = await clients.raw(t.url);
    other.send(['REQ', 'r', { ids: [ev.id] }]);
    assert.deepEqual(await answerTo(other, 'r'), ['CLOSED', 'r', Reasons.authRequired]);
  });

  it('owners get no exemption: refused before AUTH, accepted after', async () => {
    const c = await clients.raw(t.url);
    const first = sign(owner, { content: 'owner, unauthenticated' });
    assert.deepEqual(await c.publish(first), ['OK', first.id, false, Reasons.authRequired]);
    assert.deepEqual((await rawAuth(c, owner, t.url)).slice(2), [true, '']);
    const second = sign(owner, { content: 'owner, authenticated' });
    assert.deepEqual(await c.publish(second), ['OK', second.id, true, '']);
  });

  it('NIP-11: auth_required and restricted_writes', async () => {
    const doc = await nip11(t);
    assert.equal(doc.limitation.auth_required, true);
    assert.equal(doc.limitation.restricted_writes, true);
    assert.equal(doc.limitation.min_pow_difficulty, 0);
    assert.ok(!doc.supported_nips.includes(13));
  });
});

describe('ORLY_AUTH_TO_WRITE', () => {
  const clients = new Clients();
  const t = useTestRelay(clients, { ORLY_AUTH_TO_WRITE: 'true' });

  it('EVENT before AUTH gets OK false "auth-required:" (also with a bad signature); reads stay open', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'unauthenticated write' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, false, Reasons.authToWrite]);
    assert.match(Reasons.authToWrite, hasPrefix('auth-required'));
    const forged = badSig(sign(newKeys()));
    assert.deepEqual(await c.publish(forged), ['OK', forged.id, false, Reasons.authToWrite]);
    assert.deepEqual(await c.query('r', { ids: [ev.id] }), []);
    c.send(['COUNT', 'n', { ids: [ev.id] }]);
    assert.deepEqual(await answerTo(c, 'n'), ['COUNT', 'n', { count: 0 }]);
  });

  it('after AUTH the event is stored, and an unauthenticated reader sees it', async () => {
    const me = newKeys();
    const c = await authed(clients, t, me);
    const ev = sign(me, { content: 'authenticated write' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    const reader = await clients.raw(t.url);
    assert.deepEqual(
      (await reader.query('r', { ids: [ev.id] })).map((e) => e.id),
      [ev.id],
    );
  });

  it('NIP-11: restricted_writes, not auth_required', async () => {
    const doc = await nip11(t);
    assert.equal(doc.limitation.auth_required, false);
    assert.equal(doc.limitation.restricted_writes, true);
  });
});

describe('ORLY_MIN_POW_DIFFICULTY', () => {
  const clients = new Clients();
  const t = useTestRelay(clients, { ORLY_MIN_POW_DIFFICULTY: String(MIN_POW) });
  const keys = newKeys();

  it('an id with fewer leading zero bits gets OK false "pow: difficulty N is less than M"', async () => {
    const c = await clients.raw(t.url);
    let ev = sign(keys, { content: 'no work' });
    for (let i = 0; getPow(ev.id) >= MIN_POW; i++) ev = sign(keys, { content: `no work ${i}` });
    const expected = `pow: difficulty ${getPow(ev.id)} is less than ${MIN_POW}`;
    assert.equal(Reasons.powTooLow(getPow(ev.id), MIN_POW), expected);
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, false, expected]);
    // Before the signature check: a bad signature on a weak id is answered pow: too.
    const forged = badSig(ev);
    assert.deepEqual(await c.publish(forged), ['OK', ev.id, false, expected]);
  });

  it('the work counted is the real id: a forged zero id gets "invalid:" (id mismatch)', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(keys, { content: 'forged work' });
    const forged = { ...ev, id: `000000${ev.id.slice(6)}` };
    assert.deepEqual(await c.publish(forged), ['OK', forged.id, false, Reasons.badId]);
  });

  it('events mined with nostr-tools minePow are accepted, no AUTH needed', async () => {
    const c = await clients.raw(t.url);
    for (const difficulty of [MIN_POW, MIN_POW + 2]) {
      const mined = minePow(
        { pubkey: keys.pk, created_at: nowSec(), kind: 1, tags: [], content: `mined ${difficulty}` },
        difficulty,
      );
      const ev = sign(keys, { created_at: mined.created_at, tags: mined.tags, content: mined.content });
      assert.equal(ev.id, mined.id);
      assert.deepEqual(ev.tags[0], ['nonce', ev.tags[0]![1], String(difficulty)]);
      assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    }
  });

  it('a nonce tag without a target counts only the id', async () => {
    const c = await clients.raw(t.url);
    const ev = mine(keys, MIN_POW, (n) => ['nonce', String(n)]);
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
  });

  it('a committed target below the minimum is refused even when the id got lucky', async () => {
    const c = await clients.raw(t.url);
    const lucky = mine(keys, MIN_POW, (n) => ['nonce', String(n), '4']);
    assert.ok(getPow(lucky.id) >= MIN_POW);
    const expected = `pow: the nonce tag commits to target difficulty 4, which is less than ${MIN_POW}`;
    assert.equal(Reasons.powCommitmentTooLow(4, MIN_POW), expected);
    assert.deepEqual(await c.publish(lucky), ['OK', lucky.id, false, expected]);
    const garbled = mine(keys, MIN_POW, (n) => ['nonce', String(n), 'ten']);
    assert.deepEqual(await c.publish(garbled), [
      'OK',
      garbled.id,
      false,
      Reasons.powCommitmentInvalid('ten'),
    ]);
    assert.match(Reasons.powCommitmentInvalid('ten'), hasPrefix('pow'));
    assert.deepEqual(await c.query('r', { ids: [lucky.id, garbled.id] }), []);
  });

  it('NIP-11: min_pow_difficulty, and 13 in supported_nips', async () => {
    const doc = await nip11(t);
    assert.equal(doc.limitation.min_pow_difficulty, MIN_POW);
    assert.ok(doc.supported_nips.includes(13));
    assert.equal(doc.limitation.auth_required, false);
    assert.equal(doc.limitation.restricted_writes, false);
  });
});

describe('defaults', () => {
  it('every gate is off: NIP-11 says so and lists no 13', () => {
    const config = loadRelayConfig({});
    assert.deepEqual(config.gates, { authRequired: false, authToWrite: false, minPowDifficulty: 0 });
    const doc = relayInformation(config) as { supported_nips: number[]; limitation: Record<string, unknown> };
    assert.equal(doc.limitation.auth_required, false);
    assert.equal(doc.limitation.restricted_writes, false);
    assert.equal(doc.limitation.min_pow_difficulty, 0);
    assert.ok(!doc.supported_nips.includes(13));
  });
});
