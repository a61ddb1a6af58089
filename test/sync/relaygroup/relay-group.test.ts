/**
 * Unit tests for src/sync/relaygroup/relay-group.ts with events signed by nostr-tools:
 * validateRelayGroupEvent (the valid case, the author check, the kind, the JSON shape, the URL
 * checks, the bounds, duplicates after normalization, unknown keys, any d tag) and
 * authoritativeConfig (newest wins, equal created_at: lowest id, invalid and foreign events
 * skipped whatever their age).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NostrEvent } from '../../../src/protocol/event.js';
import {
  authoritativeConfig,
  MAX_RELAY_GROUP_CONTENT_BYTES,
  MAX_RELAY_GROUP_RELAYS,
  RELAY_GROUP_KIND,
  validateRelayGroupEvent,
} from '../../../src/sync/relaygroup/relay-group.js';
import { type Keys, newKeys, nowSec, sign } from '../../helpers/nostr.js';

const ADMIN = newKeys();
const OTHER_ADMIN = newKeys();
const STRANGER = newKeys();
const ADMINS: ReadonlySet<string> = new Set([ADMIN.pk, OTHER_ADMIN.pk]);

function groupEvent(
  relays: unknown,
  over: { keys?: Keys; created_at?: number; tags?: string[][]; kind?: number } = {},
): NostrEvent {
  return sign(over.keys ?? ADMIN, {
    kind: over.kind ?? RELAY_GROUP_KIND,
    created_at: over.created_at ?? nowSec(),
    tags: over.tags ?? [['d', 'group']],
    content: typeof relays === 'string' ? relays : JSON.stringify({ relays }),
  });
}

function validRelays(event: NostrEvent): string[] {
  const r = validateRelayGroupEvent(event, ADMINS);
  assert.ok(r.valid, r.valid ? '' : r.error);
  return r.relays;
}

function errorOf(event: NostrEvent, admins: ReadonlySet<string> = ADMINS): string {
  const r = validateRelayGroupEvent(event, admins);
  assert.ok(!r.valid, 'should be invalid');
  return r.error;
}

describe('validateRelayGroupEvent', () => {
  it('accepts an admin event and returns its relays normalized, in order', () => {
    const relays = validRelays(
      groupEvent(['wss://a.example.com/', 'ws://b.example.com:8080', 'HTTPS://C.example.com:443/sync']),
    );
    assert.deepEqual(relays, [
      'wss://a.example.com',
      'ws://b.example.com:8080',
      'https://c.example.com/sync',
    ]);
  });

  it('accepts every admin, and any d tag or none', () => {
    assert.deepEqual(validRelays(groupEvent(['wss://a.example'], { keys: OTHER_ADMIN })), [
      'wss://a.example',
    ]);
    assert.deepEqual(validRelays(groupEvent(['wss://a.example'], { tags: [] })), ['wss://a.example']);
    assert.deepEqual(validRelays(groupEvent(['wss://a.example'], { tags: [['d', '']] })), [
      'wss://a.example',
    ]);
  });

  it('refuses a non-admin, naming the author', () => {
    const error = errorOf(groupEvent(['wss://a.example'], { keys: STRANGER }));
    assert.match(error, /^restricted: /);
    assert.ok(error.includes(STRANGER.pk), error);
    assert.match(error, /ORLY_RELAY_GROUP_ADMINS/);
  });

  it('refuses everyone when no admin is configured', () => {
    assert.match(errorOf(groupEvent(['wss://a.example']), new Set()), /^restricted: .*no relay-group admins/);
  });

  it('refuses other kinds', () => {
    assert.match(errorOf(groupEvent(['wss://a.example'], { kind: 10008 })), /^invalid: .*kind 10008/);
  });

  it('refuses content that is not a JSON object with a relays array', () => {
    assert.match(errorOf(groupEvent('{"relays":')), /^invalid: .*not valid JSON/);
    assert.match(errorOf(groupEvent('')), /not valid JSON/);
    assert.match(errorOf(groupEvent('["wss://a.example"]')), /JSON object/);
    assert.match(errorOf(groupEvent('null')), /JSON object/);
    assert.match(errorOf(groupEvent('"wss://a.example"')), /JSON object/);
    assert.match(errorOf(groupEvent('{}')), /no "relays"/);
    assert.match(errorOf(groupEvent('{"relays":"wss://a.example"}')), /must be an array/);
    assert.match(errorOf(groupEvent('{"relays":{"0":"wss://a.example"}}')), /must be an array/);
    assert.match(errorOf(groupEvent([])), /empty/);
  });

  it('does not read relays from the prototype', () => {
    assert.match(errorOf(groupEvent('{"__proto__":{"relays":["wss://a.example"]}}')), /no "relays"/);
  });

  it('ignores unknown top-level keys', () => {
    const content = JSON.stringify({ relays: ['wss://a.example'], name: 'g', future: { x: 1 } });
    assert.deepEqual(validRelays(groupEvent(content)), ['wss://a.example']);
  });

  it('refuses bad URLs, naming the entry', () => {
    const cases: [unknown, RegExp][] = [
      [42, /relays\[1\] is not a string/],
      [null, /relays\[1\] is not a string/],
      ['', /relays\[1\] is empty/],
      ['relay.example.com', /relays\[1\] is not an absolute URL/],
      ['ftp://relay.example.com', /relays\[1\] has scheme "ftp"/],
      ['wss://user:pw@relay.example.com', /relays\[1\] has userinfo/],
      ['wss://', /relays\[1\] has no host/],
      ['wss://relay.example.com/#frag', /relays\[1\] has a fragment/],
      [`wss://relay.example.com/${'a'.repeat(2048)}`, /relays\[1\] is longer than 2048/],
      ['javascript://alert(1)', /scheme "javascript"/],
    ];
    for (const [bad, expected] of cases) {
      assert.match(errorOf(groupEvent(['wss://ok.example', bad])), expected, String(bad));
    }
  });

  it('refuses more than 100 relays, even when duplicates would leave fewer', () => {
    const hundred = Array.from({ length: MAX_RELAY_GROUP_RELAYS }, (_, i) => `wss://r${i}.example`);
    assert.equal(validRelays(groupEvent(hundred)).length, 100);
    assert.match(errorOf(groupEvent([...hundred, 'wss://r0.example'])), /101 entries, the limit is 100/);
  });

  it('removes duplicates after normalization, keeping the first', () => {
    const relays = validRelays(
      groupEvent([
        'wss://a.example/',
        'WSS://A.EXAMPLE:443',
        'ws://a.example',
        'wss://b.example',
        'wss://a.example',
      ]),
    );
    assert.deepEqual(relays, ['wss://a.example', 'ws://a.example', 'wss://b.example']);
  });

  it('refuses content over 64 KiB (counted in UTF-8 bytes)', () => {
    const pad = (n: number) => JSON.stringify({ relays: ['wss://a.example'], pad: 'x'.repeat(n) });
    const base = pad(0).length;
    assert.ok(validateRelayGroupEvent(groupEvent(pad(MAX_RELAY_GROUP_CONTENT_BYTES - base)), ADMINS).valid);
    assert.match(errorOf(groupEvent(pad(MAX_RELAY_GROUP_CONTENT_BYTES - base + 1))), /65537 bytes/);
    // 'é' is two bytes: fewer characters than the limit, more bytes.
    const wide = JSON.stringify({ relays: ['wss://a.example'], pad: 'é'.repeat(40_000) });
    assert.ok(wide.length < MAX_RELAY_GROUP_CONTENT_BYTES);
    assert.match(errorOf(groupEvent(wide)), /the limit is 65536/);
  });
});

describe('authoritativeConfig', () => {
  const t = nowSec() - 1000;

  it('is undefined without valid admin events', () => {
    assert.equal(authoritativeConfig([], ADMINS), undefined);
    assert.equal(
      authoritativeConfig([groupEvent(['wss://a.example'], { keys: STRANGER })], ADMINS),
      undefined,
    );
    assert.equal(authoritativeConfig([groupEvent(['wss://a.example'])], new Set()), undefined);
  });

  it('picks the newest valid admin event across admins and d tags', () => {
    const old = groupEvent(['wss://old.example'], { created_at: t });
    const newest = groupEvent(['wss://new.example/'], {
      created_at: t + 10,
      keys: OTHER_ADMIN,
      tags: [['d', 'other']],
    });
    const middle = groupEvent(['wss://mid.example'], { created_at: t + 5, tags: [] });
    const config = authoritativeConfig([old, newest, middle], ADMINS);
    assert.deepEqual(config, {
      relays: ['wss://new.example'],
      sourceEventId: newest.id,
      sourceTimestamp: t + 10,
    });
    // The order of the input does not matter.
    assert.equal(authoritativeConfig([middle, newest, old], ADMINS)?.sourceEventId, newest.id);
  });

  it('breaks a created_at tie by the lowest id', () => {
    const events = Array.from({ length: 6 }, (_, i) =>
      groupEvent([`wss://r${i}.example`], { created_at: t, keys: i % 2 === 0 ? ADMIN : OTHER_ADMIN }),
    );
    const lowest = [...events].sort((a, b) => (a.id < b.id ? -1 : 1))[0]!;
    assert.equal(authoritativeConfig(events, ADMINS)?.sourceEventId, lowest.id);
    assert.equal(authoritativeConfig([...events].reverse(), ADMINS)?.sourceEventId, lowest.id);
  });

  it('skips a newer invalid event and a newer stranger event', () => {
    const valid = groupEvent(['wss://valid.example'], { created_at: t });
    const broken = groupEvent('{"relays":[', { created_at: t + 20 });
    const badUrl = groupEvent(['wss://user@x.example'], { created_at: t + 30 });
    const stranger = groupEvent(['wss://evil.example'], { created_at: t + 40, keys: STRANGER });
    const otherKind = groupEvent(['wss://k.example'], { created_at: t + 50, kind: 10008 });
    for (const order of [
      [valid, broken, badUrl, stranger, otherKind],
      [otherKind, stranger, badUrl, broken, valid],
    ]) {
      const config = authoritativeConfig(order, ADMINS);
      assert.equal(config?.sourceEventId, valid.id);
      assert.deepEqual(config?.relays, ['wss://valid.example']);
    }
  });

  it('accepts any iterable', () => {
    const a = groupEvent(['wss://a.example'], { created_at: t });
    const b = groupEvent(['wss://b.example'], { created_at: t + 1 });
    function* gen() {
      yield a;
      yield b;
    }
    assert.equal(authoritativeConfig(gen(), ADMINS)?.sourceEventId, b.id);
    assert.equal(authoritativeConfig(new Set([a]), ADMINS)?.sourceEventId, a.id);
  });
});
