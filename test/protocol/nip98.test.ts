/**
 * Unit tests for src/protocol/nip98.ts: NIP-98 Authorization headers made by nostr-tools' own
 * nip98.getToken (and, where a test needs a chosen created_at, kind or alphabet, events signed
 * with nostr-tools' finalizeEvent and encoded here), checked by verifyHttpAuth: the valid case,
 * both base64 alphabets, every rejection NIP-98/NIP-86 require, the URL normalization, replay
 * refusal, and the ReplayGuard's size bound and window.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { getToken } from 'nostr-tools/nip98';
import { type EventTemplate, finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import type { NostrEvent } from '../../src/protocol/event.js';
import {
  type HttpAuthCheck,
  type HttpAuthResult,
  KIND_HTTP_AUTH,
  ReplayGuard,
  verifyHttpAuth,
} from '../../src/protocol/nip98.js';

const SECRET = new Uint8Array(32).fill(7);
const PUBKEY = getPublicKey(SECRET);
const URL = 'https://relay.example.com/';
/** A NIP-86 request: nostr-tools' getToken hashes JSON.stringify(payload), so this is the body. */
const RPC = { method: 'supportedmethods', params: [] };
const BODY = new TextEncoder().encode(JSON.stringify(RPC));
const BODY_HASH = createHash('sha256').update(BODY).digest('hex');

const sign = (e: EventTemplate) => finalizeEvent(e, SECRET);

/** A header from nostr-tools' getToken (scheme included); `null` payload: no payload tag. */
function token(url = URL, method = 'POST', payload: object | null = RPC): Promise<string> {
  return getToken(url, method, sign, true, (payload ?? undefined) as Record<string, unknown> | undefined);
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** An auth event signed by finalizeEvent, with every field choosable. */
function authEvent(over: Partial<EventTemplate> = {}): NostrEvent {
  return finalizeEvent(
    {
      kind: KIND_HTTP_AUTH,
      created_at: nowSec(),
      tags: [
        ['u', URL],
        ['method', 'POST'],
        ['payload', BODY_HASH],
      ],
      content: '',
      ...over,
    },
    SECRET,
  );
}

function header(event: object, encoding: 'base64' | 'base64url' = 'base64'): string {
  return 'Nostr ' + Buffer.from(JSON.stringify(event)).toString(encoding);
}

/** The event inside a `Nostr <base64>` header. */
function unpack(authorization: string): NostrEvent {
  return JSON.parse(Buffer.from(authorization.slice(6), 'base64').toString('utf8')) as NostrEvent;
}

function verify(authorization: string | undefined, over: Partial<HttpAuthCheck> = {}): HttpAuthResult {
  return verifyHttpAuth({
    authorization,
    method: 'POST',
    url: URL,
    body: BODY,
    requirePayload: true,
    ...over,
  });
}

function assertOk(result: HttpAuthResult): void {
  assert.ok(result.ok, result.ok ? '' : result.reason);
}

function assertRefused(result: HttpAuthResult, reason: RegExp): void {
  assert.equal(result.ok, false, 'expected the auth to be refused');
  if (!result.ok) assert.match(result.reason, reason);
}

// ---------------------------------------------------------------------------------------------
// Accepted

test('a valid getToken header with payload is accepted and names its signer', async () => {
  const auth = await token();
  const event = unpack(auth);
  const result = verify(auth);
  assert.deepEqual(result, {
    ok: true,
    pubkey: PUBKEY,
    id: event.id,
    sig: event.sig,
    createdAt: event.created_at,
  });
});

test('standard and URL-safe base64, each with and without padding, are accepted', () => {
  // content chosen so the standard form uses both + and / and ends in padding (JSON is mostly
  // ASCII, whose base64 rarely has them)
  const hasAll = (auth: string) => /\+/.test(auth) && /\//.test(auth) && auth.endsWith('=');
  let content = '>>>???~~~';
  while (!hasAll(header(authEvent({ content })))) content += 'x';
  const event = authEvent({ content });
  const standard = header(event, 'base64');
  const urlSafe = header(event, 'base64url');
  assert.ok(hasAll(standard));
  assert.match(urlSafe, /[-_]/);
  const variants = [standard, standard.replace(/=+$/, ''), urlSafe, urlSafe + padFor(urlSafe)];
  assert.notEqual(variants[3], urlSafe, 'the padded URL-safe form differs from the unpadded one');
  for (const auth of variants) assertOk(verify(auth));
});

/** The padding a base64 string (after "Nostr ") needs to reach a multiple of 4. */
function padFor(auth: string): string {
  return '='.repeat((4 - ((auth.length - 6) % 4)) % 4);
}

test('the scheme is case-insensitive, method compares case-insensitively, content may be non-empty', async () => {
  const auth = await token(URL, 'post');
  assertOk(verify('nOsTr ' + auth.slice(6)));
  assertOk(verify(auth, { method: 'POST' }));
  assertOk(verify(header(authEvent({ content: 'not empty' }))));
});

test('u matches after lowercasing scheme and host, dropping a default port, reading "" as "/"', async () => {
  assertOk(verify(await token('HTTPS://Relay.Example.COM:443/'), { url: URL }));
  assertOk(verify(await token('https://relay.example.com'), { url: URL }));
  assertOk(verify(await token(URL), { url: 'https://relay.example.com:443/' }));
  assertOk(verify(await token('http://[::1]:8080/api?x=1'), { url: 'http://[::1]:8080/api?x=1' }));
  assertRefused(verify(await token('https://relay.example.com:8443/'), { url: URL }), /u tag/);
  assertRefused(
    verify(await token('https://relay.example.com/API'), { url: 'https://relay.example.com/api' }),
    /u tag/,
  );
  assertRefused(verify(await token('https://user@relay.example.com/'), { url: URL }), /u tag/);
});

test('payload is optional without requirePayload; checked when a body is given and the tag is present', async () => {
  const withoutPayload = await token(URL, 'POST', null);
  assertOk(verify(withoutPayload, { requirePayload: false }));
  assertOk(verify(withoutPayload, { requirePayload: false, body: undefined }));
  assertOk(verify(await token(), { requirePayload: false, body: undefined }));
  assertRefused(
    verify(await token(), { requirePayload: false, body: new TextEncoder().encode('other') }),
    /payload tag does not match the body/,
  );
});

// ---------------------------------------------------------------------------------------------
// Refused

test('missing or empty Authorization header', () => {
  assertRefused(verify(undefined), /missing Authorization header/);
  assertRefused(verify(''), /missing Authorization header/);
});

test('wrong scheme, or not exactly one space after it', async () => {
  const auth = await token();
  const b64 = auth.slice(6);
  assertRefused(verify('Bearer ' + b64), /scheme/);
  assertRefused(verify(b64), /scheme/);
  assertRefused(verify('Nostr' + b64), /scheme/);
  assertRefused(verify('Nostr  ' + b64), /base64/);
});

test('garbage base64, non-JSON and non-event tokens', () => {
  assertRefused(verify('Nostr !!!not base64!!!'), /base64/);
  assertRefused(verify('Nostr '), /base64/);
  assertRefused(verify('Nostr abc=def'), /base64/);
  assertRefused(verify('Nostr abcde'), /base64/); // length 1 mod 4
  assertRefused(verify('Nostr ab+_'), /base64/); // mixed alphabets
  assertRefused(verify('Nostr ' + Buffer.from([0xff, 0xfe, 0xfd]).toString('base64')), /UTF-8/);
  assertRefused(verify('Nostr ' + Buffer.from('{"kind":').toString('base64')), /JSON/);
  assertRefused(verify('Nostr ' + Buffer.from('[1,2]').toString('base64')), /malformed auth event/);
  const { sig: _sig, ...unsigned } = authEvent();
  assertRefused(verify(header(unsigned)), /malformed auth event: sig/);
});

test('a header over 64 KiB is refused before decoding', () => {
  assertRefused(verify('Nostr ' + 'A'.repeat(64 * 1024)), /too long/);
  const big = authEvent({ content: 'x'.repeat(60 * 1024) });
  assertRefused(verify(header(big)), /too long/);
});

test('wrong kind', () => {
  assertRefused(verify(header(authEvent({ kind: 27236 }))), /kind must be 27235/);
  assertRefused(verify(header(authEvent({ kind: 22242 }))), /kind must be 27235/);
});

test('bad signature: one sig character flipped', async () => {
  const event = unpack(await token());
  const i = 100;
  const flipped = event.sig[i] === '0' ? '1' : '0';
  const forged = { ...event, sig: event.sig.slice(0, i) + flipped + event.sig.slice(i + 1) };
  assertRefused(verify(header(forged)), /signature is invalid/);
  const otherEventsSig = { ...event, sig: authEvent({ created_at: event.created_at + 1 }).sig };
  assertRefused(verify(header(otherEventsSig)), /signature is invalid/);
});

test('tampered id or content', async () => {
  const event = unpack(await token());
  assertRefused(verify(header({ ...event, content: 'tampered' })), /id does not match/);
  assertRefused(verify(header({ ...event, id: 'a'.repeat(64) })), /id does not match/);
  assertRefused(verify(header({ ...event, pubkey: getPublicKey(new Uint8Array(32).fill(8)) })), /id/);
});

test('stale: created_at 61 s in the past or the future; 60 s either way still accepted', () => {
  const now = 1_800_000_000;
  for (const offset of [-61, 61, -3600]) {
    assertRefused(
      verify(header(authEvent({ created_at: now + offset })), { now }),
      new RegExp(`stale auth event: created_at is ${Math.abs(offset)} s away from now`),
    );
  }
  for (const offset of [-60, 0, 60])
    assertOk(verify(header(authEvent({ created_at: now + offset })), { now }));
});

test('wrong method', async () => {
  assertRefused(verify(await token(URL, 'GET')), /method tag does not match/);
  assertRefused(verify(await token(), { method: 'PUT' }), /method tag does not match/);
});

test('wrong URL: different path, query string, host or scheme', async () => {
  const cases: [string, string][] = [
    ['https://relay.example.com/other', URL],
    ['https://relay.example.com/?a=1', URL],
    ['https://relay.example.com/?a=1', 'https://relay.example.com/?a=2'],
    ['https://relay.example.com/?a=1&b=2', 'https://relay.example.com/?b=2&a=1'],
    ['https://evil.example.com/', URL],
    ['http://relay.example.com/', URL],
    ['wss://relay.example.com/', URL],
    ['https://relay.example.com/', 'not a url'],
  ];
  for (const [signed, requested] of cases) {
    assertRefused(verify(await token(signed), { url: requested }), /u tag does not match the request URL/);
  }
});

test('missing, duplicated or valueless u and method tags', () => {
  const tagsCases: [string[][], RegExp][] = [
    [[['method', 'POST']], /no u tag/],
    [[['u', URL]], /no method tag/],
    [
      [
        ['u', URL],
        ['u', URL],
        ['method', 'POST'],
      ],
      /more than one u tag/,
    ],
    [
      [
        ['u', URL],
        ['method', 'POST'],
        ['method', 'POST'],
      ],
      /more than one method tag/,
    ],
    [[['u'], ['method', 'POST']], /u tag has no value/],
  ];
  for (const [tags, reason] of tagsCases) {
    assertRefused(verify(header(authEvent({ tags })), { requirePayload: false, body: undefined }), reason);
  }
});

test('missing payload tag with requirePayload', async () => {
  assertRefused(verify(await token(URL, 'POST', null)), /no payload tag/);
  assertRefused(verify(await token(URL, 'POST', null), { body: undefined }), /no payload tag/);
});

test('payload mismatch (and a duplicated payload tag)', async () => {
  assertRefused(
    verify(await token(URL, 'POST', { method: 'banpubkey', params: [] })),
    /payload tag does not match/,
  );
  assertRefused(verify(await token(), { body: new Uint8Array(0) }), /payload tag does not match/);
  assertRefused(verify(await token(), { body: undefined }), /payload tag does not match/);
  const tags = [
    ['u', URL],
    ['method', 'POST'],
    ['payload', BODY_HASH],
    ['payload', BODY_HASH],
  ];
  assertRefused(verify(header(authEvent({ tags }))), /more than one payload tag/);
});

// ---------------------------------------------------------------------------------------------
// Replay

test('replay: the same token twice with one ReplayGuard is refused the second time', async () => {
  const guard = new ReplayGuard();
  const auth = await token();
  const check: HttpAuthCheck = {
    authorization: auth,
    method: 'POST',
    url: URL,
    body: BODY,
    requirePayload: true,
  };
  assertOk(verifyHttpAuth(check, guard));
  assertRefused(verifyHttpAuth(check, guard), /auth event already used/);
  // another token (getToken in the same second would make the very same event, hence a replay)
  assertOk(verifyHttpAuth({ ...check, authorization: header(authEvent({ content: 'second' })) }, guard));
  assert.equal(guard.size, 2);
});

test('replay: the same call signed again in the same second (same event id, new signature) is not a replay', async () => {
  const guard = new ReplayGuard();
  // nostr-tools signs with fresh auxiliary randomness: same id (same second), different signature.
  let first = await token();
  let second = await token();
  while (unpack(second).id !== unpack(first).id) {
    // the two straddled a second boundary: make both again
    first = await token();
    second = await token();
  }
  assert.notEqual(unpack(second).sig, unpack(first).sig);
  const check = (authorization: string): HttpAuthCheck => ({
    authorization,
    method: 'POST',
    url: URL,
    body: BODY,
    requirePayload: true,
  });
  assertOk(verifyHttpAuth(check(first), guard));
  assertOk(verifyHttpAuth(check(second), guard));
  assertRefused(verifyHttpAuth(check(second), guard), /auth event already used/);
});

test('replay: a refused token does not take a slot in the guard', async () => {
  const guard = new ReplayGuard();
  assertRefused(
    verifyHttpAuth({ authorization: await token(), method: 'GET', url: URL, requirePayload: false }, guard),
    /method/,
  );
  assert.equal(guard.size, 0);
});

test('ReplayGuard: size never exceeds maxEntries; the oldest is evicted first', () => {
  const guard = new ReplayGuard(60, 3);
  const now = 1_000;
  for (let i = 0; i < 10; i++) {
    assert.equal(guard.remember(`id${i}`, now, now), true);
    assert.ok(guard.size <= 3);
  }
  assert.equal(guard.size, 3);
  assert.equal(guard.remember('id9', now, now), false);
  assert.equal(guard.remember('id7', now, now), false);
  assert.equal(guard.remember('id0', now, now), true, 'id0 was evicted');
  assert.equal(guard.size, 3);
});

test('ReplayGuard: an entry is remembered until createdAt + window, then forgotten', () => {
  const guard = new ReplayGuard(60, 100);
  assert.equal(guard.remember('a', 1_000, 1_000), true);
  assert.equal(guard.remember('b', 1_030, 1_030), true);
  assert.equal(guard.remember('a', 1_000, 1_060), false, 'still inside the window');
  assert.equal(guard.remember('c', 1_061, 1_061), true);
  assert.equal(guard.size, 2, '"a" expired and was dropped');
  assert.equal(guard.remember('a', 1_000, 1_061), true, 'past its window: not a replay');
  assert.equal(guard.remember('old', 900, 1_061), true);
  assert.equal(guard.size, 2, 'ids already past their window are not stored');
  assert.equal(guard.remember('d', 1_200, 1_200), true);
  assert.equal(guard.size, 1, 'everything older expired');
});

test('ReplayGuard: invalid bounds throw', () => {
  assert.throws(() => new ReplayGuard(-1), RangeError);
  assert.throws(() => new ReplayGuard(60, 0), RangeError);
  assert.throws(() => new ReplayGuard(60, 1.5), RangeError);
});
