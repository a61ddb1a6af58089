/**
 * Unit tests for src/protocol/event.ts: the NIP-01 id serialization (escaping vectors,
 * control characters written verbatim, unicode), ids that verify with real signatures
 * (noble and nostr-tools signers, bcrypto verifier), checkEventShape on every bad field,
 * the tag helpers, and a small fuzz test.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { schnorr } from '@noble/curves/secp256k1.js';
import { finalizeEvent, getPublicKey } from 'nostr-tools/pure';
import { verifySchnorr } from '../../src/crypto/schnorr.js';
import {
  checkEventShape,
  computeEventId,
  dTag,
  expirationOf,
  firstTagValue,
  isExpired,
  isHex64,
  isHex128,
  isProtected,
  type NostrEvent,
  serializeEvent,
  serializeForId,
} from '../../src/protocol/event.js';
import { seededRandom } from '../helpers/events.js';

const SECRET = new Uint8Array(32).fill(1);
const PUBKEY = Buffer.from(schnorr.getPublicKey(SECRET)).toString('hex');

type Template = Pick<NostrEvent, 'created_at' | 'kind' | 'tags' | 'content'>;

function sign(template: Template, secret: Uint8Array = SECRET): NostrEvent {
  const pubkey = Buffer.from(schnorr.getPublicKey(secret)).toString('hex');
  const id = computeEventId({ ...template, pubkey });
  const sig = Buffer.from(schnorr.sign(Buffer.from(id, 'hex'), secret)).toString('hex');
  return { id, pubkey, ...template, sig };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function base(content: string, tags: string[][] = []): Template & { pubkey: string } {
  return { pubkey: PUBKEY, created_at: 1_700_000_000, kind: 1, tags, content };
}

/** The JSON.stringify form of the id array, for comparison. */
function stringified(ev: Template & { pubkey: string }): string {
  return JSON.stringify([0, ev.pubkey, ev.created_at, ev.kind, ev.tags, ev.content]);
}

// ---------------------------------------------------------------------------------------------
// Serialization vectors

test('serializeForId: layout is [0,pubkey,created_at,kind,tags,content] without whitespace', () => {
  const ev = base('hello', [
    ['e', 'a'.repeat(64)],
    ['t', 'x'],
  ]);
  assert.equal(
    serializeForId(ev),
    `[0,"${PUBKEY}",1700000000,1,[["e","${'a'.repeat(64)}"],["t","x"]],"hello"]`,
  );
});

test('serializeForId: the seven NIP-01 escapes \\n \\" \\\\ \\r \\t \\b \\f', () => {
  const cases: [string, string][] = [
    ['\n', '\\n'],
    ['"', '\\"'],
    ['\\', '\\\\'],
    ['\r', '\\r'],
    ['\t', '\\t'],
    ['\b', '\\b'],
    ['\f', '\\f'],
  ];
  for (const [char, escaped] of cases) {
    const ev = base(`a${char}b`);
    const expected = `[0,"${PUBKEY}",1700000000,1,[],"a${escaped}b"]`;
    assert.equal(serializeForId(ev), expected, `content with U+${char.charCodeAt(0).toString(16)}`);
    assert.equal(serializeForId(ev), stringified(ev), 'same as JSON.stringify for these');
    assert.equal(computeEventId(ev), sha256(expected));
  }
  const all = base('\n"\\\r\t\b\f');
  assert.equal(serializeForId(all), `[0,"${PUBKEY}",1700000000,1,[],"\\n\\"\\\\\\r\\t\\b\\f"]`);
});

test('serializeForId: every other C0 control character is written verbatim, unlike JSON.stringify', () => {
  const named = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);
  for (let code = 0; code < 0x20; code++) {
    if (named.has(code)) continue;
    const char = String.fromCharCode(code);
    const ev = base(`x${char}y`);
    const hex = code.toString(16).padStart(4, '0');
    const json = stringified(ev);
    assert.ok(json.includes(`x\\u${hex}y`), `JSON.stringify escapes U+${hex}`);
    const expected = `[0,"${PUBKEY}",1700000000,1,[],"x${char}y"]`;
    assert.equal(serializeForId(ev), expected, `U+${hex} verbatim`);
    // They differ exactly at the escape and nowhere else.
    assert.equal(json.replace(`\\u${hex}`, char), serializeForId(ev));
    assert.equal(computeEventId(ev), sha256(expected));
  }
});

test('serializeForId: U+0001, U+001F and U+007F explicitly', () => {
  const ev = base('\u0001-\u001f-\u007f');
  const out = serializeForId(ev);
  assert.equal(out, `[0,"${PUBKEY}",1700000000,1,[],"\u0001-\u001f-\u007f"]`);
  assert.notEqual(out, stringified(ev));
  assert.equal(stringified(ev).replace('\\u0001', '\u0001').replace('\\u001f', '\u001f'), out);
  // DEL is not a C0 control: JSON.stringify already writes it verbatim.
  assert.ok(stringified(ev).includes('\u007f'));
});

test('serializeForId: control characters inside tags are verbatim too', () => {
  const ev = base('', [['t', 'a\u0002b', 'c\nd']]);
  assert.equal(serializeForId(ev), `[0,"${PUBKEY}",1700000000,1,[["t","a\u0002b","c\\nd"]],""]`);
});

test('serializeForId: a literal backslash followed by "u0001" stays escaped as \\\\u0001', () => {
  const literal = base('\\u0001'); // six characters: \ u 0 0 0 1
  assert.equal(literal.content.length, 6);
  assert.equal(serializeForId(literal), `[0,"${PUBKEY}",1700000000,1,[],"\\\\u0001"]`);
  assert.equal(serializeForId(literal), stringified(literal));

  const doubled = base('\\\\u001f'); // two backslashes then u001f
  assert.equal(serializeForId(doubled), `[0,"${PUBKEY}",1700000000,1,[],"\\\\\\\\u001f"]`);

  // A backslash directly followed by a real control character: backslash escaped, control verbatim.
  const mixed = base('\\\u0001');
  assert.equal(serializeForId(mixed), `[0,"${PUBKEY}",1700000000,1,[],"\\\\\u0001"]`);

  // A real control character followed by the text "u0001".
  const both = base('\u0001\\u0001');
  assert.equal(serializeForId(both), `[0,"${PUBKEY}",1700000000,1,[],"\u0001\\\\u0001"]`);
});

test('serializeForId: unicode (emoji, CJK, combining marks) is written verbatim as UTF-8', () => {
  const content = '🤙 日本語 中文 한국어 é (e\u0301) ñ (n\u0303) 👩‍💻 🏳️‍🌈';
  const ev = base(content, [['t', '日本']]);
  const expected = `[0,"${PUBKEY}",1700000000,1,[["t","日本"]],"${content}"]`;
  assert.equal(serializeForId(ev), expected);
  assert.ok(!serializeForId(ev).includes('\\u'));
  assert.equal(computeEventId(ev), sha256(expected));
  assert.equal(
    computeEventId(ev),
    createHash('sha256').update(Buffer.from(expected, 'utf8')).digest('hex'),
    'hashed as UTF-8 bytes',
  );
});

test('computeEventId: ids of tricky contents verify with real BIP-340 signatures', () => {
  const contents = [
    '\n"\\\r\t\b\f',
    '\u0000\u0001\u001f\u007f',
    '\\u0001',
    '\\\u0001',
    '🤙 日本語 e\u0301',
    '',
    'x'.repeat(10_000),
  ];
  for (const content of contents) {
    const ev = sign({ created_at: 1_700_000_000, kind: 1, tags: [['t', content]], content });
    assert.equal(ev.id, computeEventId(ev));
    assert.equal(verifySchnorr(ev.id, ev.pubkey, ev.sig), true, JSON.stringify(content));
    assert.ok(
      schnorr.verify(Buffer.from(ev.sig, 'hex'), Buffer.from(ev.id, 'hex'), Buffer.from(ev.pubkey, 'hex')),
    );
    // Tampering with the content changes the id: the old signature no longer matches it.
    const tamperedId = computeEventId({ ...ev, content: content + '.' });
    assert.notEqual(tamperedId, ev.id);
    assert.equal(verifySchnorr(tamperedId, ev.pubkey, ev.sig), false);
  }
});

test('computeEventId: an event from nostr-tools finalizeEvent gets the same id', () => {
  const secret = schnorr.utils.randomSecretKey();
  const ev = finalizeEvent(
    {
      kind: 1,
      created_at: 1_700_000_123,
      tags: [
        ['e', 'b'.repeat(64), 'wss://relay.example.com', 'root'],
        ['p', PUBKEY],
        ['t', 'nostr'],
      ],
      content: 'hello from nostr-tools, "quoted" \\ and\nnewline 🤙',
    },
    secret,
  );
  assert.equal(ev.pubkey, getPublicKey(secret));
  assert.equal(computeEventId(ev), ev.id);
  assert.equal(checkEventShape(ev), undefined);
  assert.equal(verifySchnorr(ev.id, ev.pubkey, ev.sig), true);
});

test('verifySchnorr: false on tampering and malformed input, never throws', () => {
  const ev = sign({ created_at: 1, kind: 1, tags: [], content: 'x' });
  assert.equal(verifySchnorr(ev.id, ev.pubkey, ev.sig), true);
  const flip = (hex: string, at: number): string =>
    hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);
  assert.equal(verifySchnorr(flip(ev.id, 5), ev.pubkey, ev.sig), false);
  assert.equal(verifySchnorr(ev.id, flip(ev.pubkey, 63), ev.sig), false);
  assert.equal(verifySchnorr(ev.id, ev.pubkey, flip(ev.sig, 0)), false);
  assert.equal(verifySchnorr(ev.id, ev.pubkey, flip(ev.sig, 127)), false);
  assert.equal(verifySchnorr(ev.id.toUpperCase(), ev.pubkey, ev.sig), false);
  assert.equal(verifySchnorr(ev.id.slice(2), ev.pubkey, ev.sig), false);
  assert.equal(verifySchnorr(ev.id, ev.pubkey, ev.sig.slice(0, 126)), false);
  assert.equal(verifySchnorr(ev.id, 'g'.repeat(64), ev.sig), false);
  assert.equal(verifySchnorr(ev.id, 'f'.repeat(64), ev.sig), false, 'not a valid x coordinate');
  assert.equal(verifySchnorr(ev.id, ev.pubkey, 'f'.repeat(128)), false, 's >= n');
  assert.equal(verifySchnorr(ev.id, ev.pubkey, '0'.repeat(128)), false);
  assert.equal(verifySchnorr('', '', ''), false);
  assert.equal(
    verifySchnorr(undefined as unknown as string, null as unknown as string, 5 as unknown as string),
    false,
  );
});

test('serializeEvent: NIP-01 field order, unknown fields dropped', () => {
  const ev = sign({ created_at: 5, kind: 7, tags: [['e', 'c'.repeat(64)]], content: 'a\n"🤙' });
  const withExtra = { extra: 1, ...ev, seen_on: ['x'] } as NostrEvent;
  const raw = serializeEvent(withExtra);
  assert.equal(
    raw,
    `{"id":"${ev.id}","pubkey":"${ev.pubkey}","created_at":5,"kind":7,"tags":[["e","${'c'.repeat(64)}"]],` +
      `"content":"a\\n\\"🤙","sig":"${ev.sig}"}`,
  );
  assert.deepEqual(JSON.parse(raw), ev);
});

test('serializeEvent: the stored/wire form stays valid JSON when content has control characters', () => {
  const ev = sign({ created_at: 5, kind: 1, tags: [['t', 'a\u0002']], content: 'a\u0001b' });
  assert.deepEqual(JSON.parse(serializeEvent(ev)), ev);
});

// ---------------------------------------------------------------------------------------------
// checkEventShape

function valid(): NostrEvent {
  return sign({ created_at: 1_700_000_000, kind: 1, tags: [['t', 'x']], content: 'ok' });
}

test('checkEventShape: a well-formed event passes', () => {
  assert.equal(checkEventShape(valid()), undefined);
  assert.equal(checkEventShape({ ...valid(), kind: 0, created_at: 0, tags: [], content: '' }), undefined);
  assert.equal(checkEventShape({ ...valid(), kind: 65535 }), undefined);
  assert.equal(checkEventShape({ ...valid(), tags: [['-']] }), undefined, 'a one-element tag is fine');
});

test('checkEventShape: rejects every bad field', () => {
  const ev = valid();
  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'event', /object/],
    ['null', null, /object/],
    ['array', [ev], /object/],
    ['uppercase id', { ...ev, id: ev.id.toUpperCase() }, /^id/],
    ['short id', { ...ev, id: ev.id.slice(1) }, /^id/],
    ['long id', { ...ev, id: ev.id + '0' }, /^id/],
    ['non-hex id', { ...ev, id: 'z'.repeat(64) }, /^id/],
    ['missing id', { ...ev, id: undefined }, /^id/],
    ['numeric id', { ...ev, id: 1 }, /^id/],
    ['uppercase pubkey', { ...ev, pubkey: ev.pubkey.toUpperCase() }, /^pubkey/],
    ['short pubkey', { ...ev, pubkey: ev.pubkey.slice(2) }, /^pubkey/],
    ['npub pubkey', { ...ev, pubkey: 'npub1xyz' }, /^pubkey/],
    ['uppercase sig', { ...ev, sig: ev.sig.toUpperCase() }, /^sig/],
    ['short sig', { ...ev, sig: ev.sig.slice(2) }, /^sig/],
    ['missing sig', { ...ev, sig: undefined }, /^sig/],
    ['float created_at', { ...ev, created_at: 1_700_000_000.5 }, /^created_at/],
    ['negative created_at', { ...ev, created_at: -1 }, /^created_at/],
    ['string created_at', { ...ev, created_at: '1700000000' }, /^created_at/],
    ['huge created_at', { ...ev, created_at: 2 ** 60 }, /^created_at/],
    ['NaN created_at', { ...ev, created_at: Number.NaN }, /^created_at/],
    ['kind 70000', { ...ev, kind: 70000 }, /^kind/],
    ['kind 65536', { ...ev, kind: 65536 }, /^kind/],
    ['negative kind', { ...ev, kind: -1 }, /^kind/],
    ['float kind', { ...ev, kind: 1.5 }, /^kind/],
    ['string kind', { ...ev, kind: '1' }, /^kind/],
    ['numeric content', { ...ev, content: 5 }, /^content/],
    ['missing content', { ...ev, content: undefined }, /^content/],
    ['lone high surrogate in content', { ...ev, content: 'a\ud800b' }, /content is not valid unicode/],
    ['lone low surrogate in content', { ...ev, content: '\udc00' }, /content is not valid unicode/],
    ['tags not an array', { ...ev, tags: {} }, /^tags/],
    ['missing tags', { ...ev, tags: undefined }, /^tags/],
    ['empty tag', { ...ev, tags: [[]] }, /tag/],
    ['tag not an array', { ...ev, tags: ['t'] }, /tag/],
    ['non-string tag item', { ...ev, tags: [['t', 1]] }, /tag/],
    ['null tag item', { ...ev, tags: [['t', null]] }, /tag/],
    ['nested array tag item', { ...ev, tags: [['t', ['x']]] }, /tag/],
    ['lone surrogate in a tag', { ...ev, tags: [['t', '\ud83d']] }, /tag value is not valid unicode/],
  ];
  for (const [name, value, pattern] of bad) {
    const problem = checkEventShape(value);
    assert.equal(typeof problem, 'string', name);
    assert.match(problem!, pattern, name);
  }
});

test('isHex64 / isHex128', () => {
  assert.ok(isHex64('0'.repeat(64)));
  assert.ok(!isHex64('0'.repeat(63)));
  assert.ok(!isHex64('A'.repeat(64)));
  assert.ok(!isHex64(5));
  assert.ok(isHex128('f'.repeat(128)));
  assert.ok(!isHex128('f'.repeat(64)));
});

// ---------------------------------------------------------------------------------------------
// Tag helpers

test('tag helpers: firstTagValue, dTag, expiration, protected', () => {
  const tags = [['t', 'a', 'b'], ['t', 'c'], ['d', 'slug'], ['expiration', '1000'], ['-']];
  assert.equal(firstTagValue({ tags }, 't'), 'a');
  assert.equal(firstTagValue({ tags }, 'x'), undefined);
  assert.equal(dTag({ tags }), 'slug');
  assert.equal(dTag({ tags: [] }), '');
  assert.equal(dTag({ tags: [['d']] }), '');
  assert.equal(expirationOf({ tags }), 1000);
  assert.equal(expirationOf({ tags: [['expiration', 'soon']] }), undefined);
  assert.equal(expirationOf({ tags: [['expiration', '-5']] }), undefined);
  assert.equal(expirationOf({ tags: [] }), undefined);
  assert.equal(isExpired({ tags }, 999), false);
  assert.equal(isExpired({ tags }, 1000), true, 'expired at the timestamp itself');
  assert.equal(isExpired({ tags: [] }, 1e12), false);
  assert.equal(isProtected({ tags }), true);
  assert.equal(isProtected({ tags: [['-', 'x']] }), false);
  assert.equal(isProtected({ tags: [] }), false);
});

// ---------------------------------------------------------------------------------------------
// Fuzz

test('fuzz: checkEventShape and computeEventId never throw on mutated events', () => {
  const rand = seededRandom(42);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)]!;
  const junk: unknown[] = [
    null,
    undefined,
    true,
    0,
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 53,
    '',
    'x',
    '\ud800',
    '\u0000',
    'a'.repeat(64),
    'A'.repeat(64),
    'f'.repeat(128),
    [],
    [[]],
    [['t']],
    [['t', 1]],
    [[null]],
    {},
    { length: 64 },
  ];
  const fields = ['id', 'pubkey', 'created_at', 'kind', 'tags', 'content', 'sig', 'extra'] as const;
  const ev = valid();
  for (let i = 0; i < 5000; i++) {
    const mutated: Record<string, unknown> = { ...ev };
    const n = 1 + Math.floor(rand() * 3);
    for (let j = 0; j < n; j++) {
      const field = pick(fields);
      if (rand() < 0.2) delete mutated[field];
      else mutated[field] = pick(junk);
    }
    const problem = checkEventShape(mutated);
    if (problem === undefined) {
      // Whatever passes the shape check can be serialized and hashed.
      const id = computeEventId(mutated as unknown as NostrEvent);
      assert.ok(isHex64(id));
      serializeEvent(mutated as unknown as NostrEvent);
    } else {
      assert.equal(typeof problem, 'string');
    }
  }
});
