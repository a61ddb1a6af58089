/**
 * NIP-01 EVENT ingestion: OK frames and prefixes, duplicate handling, tampered and malformed
 * events, unparseable frames, and the canonical (NIP-01) id serialization of control characters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { computeEventId, type NostrEvent } from '../../src/protocol/event.js';
import {
  Clients,
  fetchEvents,
  hasPrefix,
  jsonStringifyId,
  newKeys,
  recordRaw,
  sign,
  signCanonical,
  signJsonStringifyStyle,
} from '../helpers/nostr.js';
import { type RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

let t: TestRelay;
const clients = new Clients();

before(async () => {
  t = await startTestRelay();
});

after(async () => {
  await clients.closeAll();
  await t.stop();
});

/** Publishes a fresh valid event and expects OK true: the connection is still usable. */
async function assertStillWorks(client: RawClient): Promise<void> {
  const ev = sign(newKeys(), { content: 'still alive' });
  assert.deepEqual(await client.publish(ev), ['OK', ev.id, true, '']);
  assert.equal(client.closed, false);
}

/** Sends ['EVENT', value] and returns the OK frame whose id is `expectedId`. */
async function sendEvent(client: RawClient, value: unknown, expectedId: string) {
  client.send(['EVENT', value]);
  return client.next((f) => f[0] === 'OK' && f[1] === expectedId);
}

describe('EVENT acceptance', () => {
  it('accepts a valid event with OK true "" (nostr-tools client) and serves it back', async () => {
    const relay = await clients.nostrTools(t.url);
    const keys = newKeys();
    const ev = sign(keys, { content: 'hello from nostr-tools', tags: [['t', 'nip01']] });
    assert.equal(await relay.publish(ev), '');
    assert.deepEqual(await fetchEvents(relay, [{ ids: [ev.id] }]), [ev]);
    // nostr-tools resolves a duplicate with the relay's message.
    assert.match(await relay.publish(ev), hasPrefix('duplicate'));
  });

  it('answers OK true with an empty message, then OK true "duplicate: ..." for the same event', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'dup test' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    const dup = await c.publish(ev);
    assert.equal(dup[0], 'OK');
    assert.equal(dup[1], ev.id);
    assert.equal(dup[2], true);
    assert.match(dup[3], hasPrefix('duplicate'));
    // A duplicate sent on another connection is also a duplicate.
    const c2 = await clients.raw(t.url);
    const dup2 = await c2.publish(ev);
    assert.equal(dup2[2], true);
    assert.match(dup2[3], hasPrefix('duplicate'));
  });

  it('ignores unknown fields and stores only the NIP-01 fields', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'extra fields' });
    c.send(['EVENT', { ...ev, extra: 'x', seenOn: ['a'] }]);
    const ok = await c.next((f) => f[0] === 'OK' && f[1] === ev.id);
    assert.deepEqual(ok, ['OK', ev.id, true, '']);
    const got = await c.query('extra', { ids: [ev.id] });
    assert.deepEqual(got, [ev]);
  });
});

describe('tampered events are rejected with OK false "invalid: ..."', () => {
  it('tampered content', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'original' });
    const ok = await sendEvent(c, { ...ev, content: 'tampered' }, ev.id);
    assert.equal(ok[2], false);
    assert.match(ok[3], hasPrefix('invalid'));
    assert.equal((await c.query('tc', { ids: [ev.id] })).length, 0);
    await assertStillWorks(c);
  });

  it('tampered tags, kind, created_at and pubkey', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'fields', tags: [['t', 'x']] });
    const variants: Partial<NostrEvent>[] = [
      { tags: [['t', 'y']] },
      { kind: 2 },
      { created_at: ev.created_at - 1 },
      { pubkey: newKeys().pk },
    ];
    for (const change of variants) {
      const ok = await sendEvent(c, { ...ev, ...change }, ev.id);
      assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false], JSON.stringify(change));
      assert.match(ok[3], hasPrefix('invalid'));
    }
    await assertStillWorks(c);
  });

  it('overwritten id is echoed as sent', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'id overwritten' });
    const fakeId = 'ca'.repeat(32);
    const ok = await sendEvent(c, { ...ev, id: fakeId }, fakeId);
    assert.deepEqual(ok.slice(0, 3), ['OK', fakeId, false]);
    assert.match(ok[3], hasPrefix('invalid'));
    await assertStillWorks(c);
  });

  it('tampered signature', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'sig tampered' });
    const last = ev.sig.at(-1) === '0' ? '1' : '0';
    const ok = await sendEvent(c, { ...ev, sig: ev.sig.slice(0, -1) + last }, ev.id);
    assert.deepEqual(ok, ['OK', ev.id, false, 'invalid: signature verification failed']);
    // A valid signature by another key over the same id.
    const other = sign(newKeys(), { content: 'other' });
    const ok2 = await sendEvent(c, { ...ev, sig: other.sig }, ev.id);
    assert.deepEqual(ok2.slice(0, 3), ['OK', ev.id, false]);
    assert.match(ok2[3], hasPrefix('invalid'));
    assert.equal((await c.query('ts', { ids: [ev.id] })).length, 0);
    await assertStillWorks(c);
  });
});

describe('malformed events are rejected with OK false "invalid: ..."', () => {
  it('uppercase hex in id, pubkey or sig', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'uppercase' });
    const upperId = ev.id.toUpperCase();
    const ok1 = await sendEvent(c, { ...ev, id: upperId }, upperId);
    assert.equal(ok1[2], false);
    assert.match(ok1[3], hasPrefix('invalid'));
    for (const change of [{ pubkey: ev.pubkey.toUpperCase() }, { sig: ev.sig.toUpperCase() }]) {
      const ok = await sendEvent(c, { ...ev, ...change }, ev.id);
      assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
      assert.match(ok[3], hasPrefix('invalid'));
    }
    await assertStillWorks(c);
  });

  it('missing fields', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'missing' });
    for (const field of ['pubkey', 'created_at', 'kind', 'tags', 'content', 'sig'] as const) {
      const copy: Record<string, unknown> = { ...ev };
      delete copy[field];
      const ok = await sendEvent(c, copy, ev.id);
      assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false], field);
      assert.match(ok[3], hasPrefix('invalid'), field);
    }
    // Without an id there is nothing to echo: the OK carries "".
    const { id: _omit, ...noId } = ev;
    const ok = await sendEvent(c, noId, '');
    assert.deepEqual(ok.slice(0, 3), ['OK', '', false]);
    assert.match(ok[3], hasPrefix('invalid'));
    await assertStillWorks(c);
  });

  it('wrong types and out-of-range values', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'types', tags: [['t', 'a']] });
    const variants: Record<string, unknown>[] = [
      { created_at: String(ev.created_at) },
      { created_at: ev.created_at + 0.5 },
      { created_at: -1 },
      { created_at: null },
      { kind: '1' },
      { kind: 1.5 },
      { kind: -1 },
      { kind: 65536 },
      { tags: 'x' },
      { tags: {} },
      { tags: [['t', 1]] },
      { tags: [['t', null]] },
      { tags: [[]] },
      { tags: ['t'] },
      { content: 42 },
      { content: null },
      { pubkey: ev.pubkey.slice(2) },
      { pubkey: 5 },
      { sig: ev.sig.slice(2) },
      { sig: `${ev.sig.slice(0, -1)}g` },
    ];
    for (const change of variants) {
      const ok = await sendEvent(c, { ...ev, ...change }, ev.id);
      assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false], JSON.stringify(change));
      assert.match(ok[3], hasPrefix('invalid'), JSON.stringify(change));
    }
    // Non-string ids cannot be echoed.
    for (const id of [5, null, ['a']]) {
      const ok = await sendEvent(c, { ...ev, id }, '');
      assert.deepEqual(ok.slice(0, 3), ['OK', '', false], JSON.stringify(id));
      assert.match(ok[3], hasPrefix('invalid'));
    }
    // The event itself is not an object.
    for (const value of ['x', 5, null, [ev]]) {
      const ok = await sendEvent(c, value, '');
      assert.deepEqual(ok.slice(0, 3), ['OK', '', false], JSON.stringify(value));
      assert.match(ok[3], hasPrefix('invalid'));
    }
    c.send(['EVENT']);
    const ok = await c.next((f) => f[0] === 'OK' && f[1] === '');
    assert.equal(ok[2], false);
    assert.match(ok[3], hasPrefix('invalid'));
    await assertStillWorks(c);
  });

  it('lone surrogates in content are refused', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'a\uD800b' });
    const ok = await c.publish(ev);
    assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
    assert.match(ok[3], hasPrefix('invalid'));
    await assertStillWorks(c);
  });
});

describe('frames that are not valid messages get NOTICE "invalid: ..."', () => {
  const bad: [string, string][] = [
    ['not JSON', 'this is not json'],
    ['truncated JSON', '["EVENT",{"id":'],
    ['a JSON object', '{"EVENT":1}'],
    ['a JSON string', '"EVENT"'],
    ['an empty array', '[]'],
    ['a number verb', '[1,2]'],
    ['an unknown verb', '["FOO","bar"]'],
    ['a lowercase verb', '["event",{}]'],
  ];
  for (const [name, text] of bad) {
    it(name, async () => {
      const c = await clients.raw(t.url);
      c.send(text);
      const notice = await c.nextOfType('NOTICE');
      assert.equal(notice.length, 2);
      assert.match(notice[1], hasPrefix('invalid'));
      await assertStillWorks(c);
    });
  }

  it('binary frames are parsed like text frames', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'binary frame' });
    c.ws.send(Buffer.from(JSON.stringify(['EVENT', ev])), { binary: true });
    assert.deepEqual(await c.next((f) => f[0] === 'OK' && f[1] === ev.id), ['OK', ev.id, true, '']);
  });
});

describe('canonical serialization (NIP-01 escaping rules)', () => {
  it('content with U+0001 signed with the canonical id is accepted and served back byte-identical', async () => {
    const c = await clients.raw(t.url);
    const raw = recordRaw(c);
    const keys = newKeys();
    const content = 'ctl:\u0001|\u001f|\u007f|\u0000|end';
    const ev = signCanonical(keys, { content, tags: [['t', 'ctl\u0002']] });
    assert.notEqual(ev.id, jsonStringifyId(ev), 'test vector must distinguish the serializers');
    // On the wire the event is ordinary JSON (RFC 8259 requires \u00XX escapes for these characters);
    // only the id commits to the NIP-01 serialization with the characters verbatim.
    const sent = JSON.stringify(ev);
    c.send(`["EVENT",${sent}]`);
    assert.deepEqual(await c.next((f) => f[0] === 'OK' && f[1] === ev.id), ['OK', ev.id, true, '']);
    const got = await c.query('ctl', { ids: [ev.id] });
    assert.deepEqual(got, [ev]);
    assert.equal(got[0]!.content, content);
    const frame = raw.find((text) => text.startsWith('["EVENT","ctl",'));
    assert.equal(frame, `["EVENT","ctl",${sent}]`);
  });

  it('raw control characters inside JSON strings are not valid JSON -> NOTICE "invalid: ..."', async () => {
    const c = await clients.raw(t.url);
    const ev = signCanonical(newKeys(), { content: 'raw:\u0001' });
    c.send(`["EVENT",${JSON.stringify(ev).replace('\\u0001', '\u0001')}]`);
    assert.match((await c.nextOfType('NOTICE'))[1], hasPrefix('invalid'));
    await assertStillWorks(c);
  });

  it('the same event with the JSON.stringify-style id is rejected', async () => {
    const c = await clients.raw(t.url);
    const ev = signJsonStringifyStyle(newKeys(), { content: 'ctl:\u0001' });
    const ok = await c.publish(ev);
    assert.deepEqual(ok.slice(0, 3), ['OK', ev.id, false]);
    assert.match(ok[3], hasPrefix('invalid'));
    await assertStillWorks(c);
  });

  it('the escape sequences \\n \\" \\\\ \\r \\t \\b \\f are accepted and served back exactly', async () => {
    const c = await clients.raw(t.url);
    const raw = recordRaw(c);
    const content = 'line1\nquote"back\\slash\rcr\ttab\bbs\fff \\u0001 not a control';
    const ev = sign(newKeys(), { content, tags: [['t', 'esc"\n']] });
    // Without other control characters both serializers agree.
    assert.equal(computeEventId(ev), ev.id);
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    const got = await c.query('esc', { ids: [ev.id] });
    assert.deepEqual(got, [ev]);
    assert.equal(got[0]!.content, content);
    assert.equal(
      raw.find((text) => text.startsWith('["EVENT","esc",')),
      `["EVENT","esc",${JSON.stringify(ev)}]`,
    );
  });

  it('non-ASCII content round-trips', async () => {
    const c = await clients.raw(t.url);
    const ev = sign(newKeys(), { content: 'héllo wörld 🎉 \u2028\u2029 日本語' });
    assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
    assert.deepEqual(await c.query('utf', { ids: [ev.id] }), [ev]);
  });
});
