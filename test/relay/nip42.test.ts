/** NIP-42 AUTH event checks (pure). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { checkAuthEvent, sameRelay } from '../../src/relay/nip42.js';
import { parseRelayAddress } from '../../src/relay/relay-address.js';

const base = (over: Partial<NostrEvent>): NostrEvent => ({
  id: '0'.repeat(64),
  pubkey: '1'.repeat(64),
  created_at: 1000,
  kind: 22242,
  tags: [
    ['relay', 'wss://relay.example.com/'],
    ['challenge', 'abc'],
  ],
  content: '',
  sig: '2'.repeat(128),
  ...over,
});

test('relay URLs compare by host, port and path; scheme and trailing slash do not matter', () => {
  assert.ok(sameRelay('wss://relay.example.com', 'ws://relay.example.com/'));
  assert.ok(sameRelay('wss://Relay.Example.com:443/', 'https://relay.example.com'));
  assert.ok(sameRelay('ws://127.0.0.1:3334', 'ws://127.0.0.1:3334/'));
  assert.ok(!sameRelay('ws://127.0.0.1:3334', 'ws://127.0.0.1:3335'));
  assert.ok(!sameRelay('wss://relay.example.com/a', 'wss://relay.example.com/b'));
  assert.ok(!sameRelay('not a url', 'wss://relay.example.com'));
});

test('checkAuthEvent accepts a good event and names each problem', () => {
  const url = ['wss://relay.example.com'];
  assert.equal(checkAuthEvent(base({}), 'abc', url, 1000), undefined);
  assert.match(checkAuthEvent(base({ kind: 1 }), 'abc', url, 1000)!, /^invalid: .*22242/);
  assert.match(checkAuthEvent(base({}), 'other', url, 1000)!, /^invalid: .*challenge/);
  assert.match(checkAuthEvent(base({}), 'abc', ['wss://elsewhere.example.com'], 1000)!, /^invalid: .*relay/);
  assert.match(checkAuthEvent(base({}), 'abc', url, 1000 + 601)!, /^invalid: .*10 minutes/);
  assert.equal(checkAuthEvent(base({}), 'abc', url, 1000 + 599), undefined);
});

test('the relay tag may name any of several URLs; with none, AUTH is refused as restricted', () => {
  const names = ['wss://relay.example.com/', 'ws://relay.internal:7777/'];
  assert.equal(checkAuthEvent(base({}), 'abc', names, 1000), undefined);
  const internal = base({
    tags: [
      ['relay', 'wss://relay.internal:7777'],
      ['challenge', 'abc'],
    ],
  });
  assert.equal(checkAuthEvent(internal, 'abc', names, 1000), undefined);
  assert.match(checkAuthEvent(internal, 'abc', ['wss://relay.example.com'], 1000)!, /^invalid: .*relay/);
  assert.match(checkAuthEvent(base({}), 'abc', [], 1000)!, /^restricted: .*ORLY_RELAY_URL/);
});

test('ORLY_RELAY_ADDRESSES entries: ws/wss URLs or host[:port]', () => {
  assert.equal(parseRelayAddress('relay.example.com'), 'ws://relay.example.com/');
  assert.equal(parseRelayAddress('Relay.Example.com:8443'), 'ws://relay.example.com:8443/');
  assert.equal(parseRelayAddress('[2001:db8::1]:7777'), 'ws://[2001:db8::1]:7777/');
  assert.equal(parseRelayAddress('wss://relay.example.com/nostr'), 'wss://relay.example.com/nostr');
  assert.ok(sameRelay(parseRelayAddress('relay.example.com:443'), 'wss://relay.example.com/'));
  assert.ok(sameRelay(parseRelayAddress('relay.example.com'), 'wss://RELAY.example.com'));
  assert.ok(!sameRelay(parseRelayAddress('relay.example.com:8443'), 'wss://relay.example.com'));
  for (const bad of [
    'https://relay.example.com',
    'relay.example.com/path',
    'wss://u:p@relay.example.com',
    'ws://x/?a=1',
    'a b',
    'ws://',
  ]) {
    assert.throws(() => parseRelayAddress(bad), Error, bad);
  }
});
