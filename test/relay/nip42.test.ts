/** NIP-42 AUTH event checks (pure). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import { checkAuthEvent, sameRelay } from '../../src/relay/nip42.js';

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
  const url = 'wss://relay.example.com';
  assert.equal(checkAuthEvent(base({}), 'abc', url, 1000), undefined);
  assert.match(checkAuthEvent(base({ kind: 1 }), 'abc', url, 1000)!, /^invalid: .*22242/);
  assert.match(checkAuthEvent(base({}), 'other', url, 1000)!, /^invalid: .*challenge/);
  assert.match(checkAuthEvent(base({}), 'abc', 'wss://elsewhere.example.com', 1000)!, /^invalid: .*relay/);
  assert.match(checkAuthEvent(base({}), 'abc', url, 1000 + 601)!, /^invalid: .*10 minutes/);
  assert.equal(checkAuthEvent(base({}), 'abc', url, 1000 + 599), undefined);
});
