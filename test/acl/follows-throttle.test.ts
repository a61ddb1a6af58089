/**
 * Follows mode's progressive throttle, in process: the leaky-accumulator arithmetic with an
 * injected clock, the bounds of its tables (drained entries swept, a hard key cap dropping the
 * least recently charged), the decisions and levels of FollowsAccessControl with the throttle on
 * and off, orly-acl's CheckAccess carrying the delay, and the follows variables' parsing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Requester } from '../../src/acl/access-control.js';
import { FOLLOWS_DENIED, FollowsAccessControl } from '../../src/acl/follows-access-control.js';
import { loadFollowsSettings, normalizeRelayUrl } from '../../src/acl/follows-config.js';
import { FollowsThrottle, LeakyAccumulators, MAX_THROTTLE_DELAY_MS } from '../../src/acl/follows-throttle.js';
import { ConfigError } from '../../src/config/env.js';
import { serializeEvent } from '../../src/protocol/event.js';
import { aclService } from '../../src/services/acl/acl-service.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { BASE_TIME, newKey, signedEvent } from '../helpers/events.js';

describe('leaky accumulators', () => {
  test('acc = max(0, acc - elapsed) + increment, capped at max', () => {
    const t = new LeakyAccumulators(200, 1000, 100, 60_000, 0);
    assert.equal(t.charge('a', 0), 200);
    assert.equal(t.charge('a', 0), 400);
    assert.equal(t.charge('a', 50), 550, '400 - 50 + 200');
    assert.equal(t.charge('a', 50), 750);
    assert.equal(t.charge('a', 50), 950);
    assert.equal(t.charge('a', 50), 1000, 'capped');
    assert.equal(t.charge('a', 50), 1000, 'stays at the cap');
    assert.equal(t.charge('a', 1050), 200, 'the cap leaked away in 1000 ms');
    assert.equal(t.charge('a', 5000), 200, 'fully drained: starts again from the increment');
    assert.equal(t.charge('b', 5000), 200, 'keys are independent');
  });

  test('drained entries are swept; the key cap drops the least recently charged', () => {
    const t = new LeakyAccumulators(100, 1000, 3, 500, 0);
    t.charge('a', 0);
    t.charge('b', 0);
    t.charge('c', 0);
    t.charge('a', 10); // a is now the most recent
    t.charge('d', 20); // over the cap: b (least recent) goes
    assert.equal(t.size, 3);
    assert.equal(t.charge('b', 20), 100, 'b was dropped: it starts from the increment');
    // c is dropped to make room for b; a (200) and d (100) stay.
    assert.equal(t.charge('a', 20), 280, 'a kept its accumulator (190 - 10 + 100)');
    // Past every decay: the next charge (after sweepEveryMs) sweeps them all.
    t.charge('z', 10_000);
    assert.equal(t.size, 1);
  });

  test('the throttle: delay = max(ip, pubkey); an empty IP counts only the pubkey', () => {
    let now = 0;
    const th = new FollowsThrottle({ incrementMs: 100, maxMs: 1000, now: () => now });
    assert.equal(th.charge('1.1.1.1', 'p1'), 100);
    assert.equal(th.charge('1.1.1.1', 'p2'), 200, 'same IP, another pubkey: the IP accumulator wins');
    assert.equal(th.charge('2.2.2.2', 'p1'), 200, 'another IP, same pubkey: the pubkey accumulator wins');
    now = 150;
    assert.equal(th.charge('3.3.3.3', 'p3'), 100);
    assert.equal(th.charge('', 'p3'), 200);
    assert.deepEqual(th.sizes, { ips: 3, pubkeys: 3 });
    assert.throws(
      () => new FollowsThrottle({ incrementMs: 1, maxMs: MAX_THROTTLE_DELAY_MS + 1 }),
      RangeError,
    );
  });
});

describe('follows mode with the throttle', () => {
  let dir: string;
  let store: LmdbEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orly-throttle-test-'));
    store = LmdbEventStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('unfollowed authors are accepted with growing delays; owners, admins and follows are not delayed', async () => {
    const [owner, admin, friend, stranger] = [newKey(), newKey(), newKey(), newKey()];
    await store.save(signedEvent(admin, { kind: 3, tags: [['p', friend.pubkey]] }));
    let now = 0;
    const acl = await FollowsAccessControl.create({
      store,
      owners: [owner.pubkey],
      admins: [admin.pubkey],
      reloadIntervalMs: 0,
      settings: {
        throttle: { incrementMs: 200, maxMs: 1000 },
        bootstrapRelays: [],
        refreshIntervalMs: 0,
        ownHosts: [],
      },
      throttleOptions: { now: () => now },
    });
    try {
      const from: Requester = { authed: new Set(), ip: '10.0.0.1' };
      for (const key of [owner, admin, friend]) {
        const ev = signedEvent(key);
        assert.equal(acl.checkEvent(ev, from), undefined);
        assert.equal(acl.writeDelayMs(ev, from), 0);
      }
      const ev = signedEvent(stranger);
      assert.equal(acl.checkEvent(ev, from), undefined, 'accepted, not blocked');
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6].map(() => acl.writeDelayMs(ev, from)),
        [200, 400, 600, 800, 1000, 1000],
      );
      now = 500;
      assert.equal(acl.writeDelayMs(ev, from), 700);
      assert.equal(acl.accessLevel(stranger.pubkey, '10.0.0.1'), 'write');
      assert.equal(acl.accessLevel(undefined, '10.0.0.1'), 'write');
      assert.equal(acl.accessLevel(friend.pubkey, ''), 'write');
      assert.equal(acl.accessLevel(admin.pubkey, ''), 'admin');

      // Through orly-acl's CheckAccess: the delay travels in the answer.
      const service = aclService(acl);
      const answer = await new Promise<{ allowed: boolean; reason: string; delayMs: number }>(
        (resolve, reject) =>
          service.checkAccess(
            {
              request: { eventJson: serializeEvent(ev), requester: { authedPubkeys: [], ip: '10.0.0.2' } },
            } as never,
            ((err: Error | null, res: { allowed: boolean; reason: string; delayMs: number }) =>
              err ? reject(err) : resolve(res)) as never,
          ),
      );
      assert.deepEqual(
        answer,
        { allowed: true, reason: '', delayMs: 900 },
        'the pubkey accumulator: 700 + 200',
      );
    } finally {
      await acl.close();
    }
  });

  test('without the throttle unfollowed authors are refused and read-only', async () => {
    const [admin, stranger] = [newKey(), newKey()];
    const acl = await FollowsAccessControl.create({
      store,
      owners: [],
      admins: [admin.pubkey],
      reloadIntervalMs: 0,
    });
    try {
      const ev = signedEvent(stranger, { created_at: BASE_TIME });
      assert.equal(acl.checkEvent(ev, { authed: new Set(), ip: '' }), FOLLOWS_DENIED);
      assert.equal(acl.writeDelayMs(ev, { authed: new Set(), ip: '' }), 0);
      assert.equal(acl.accessLevel(stranger.pubkey, ''), 'read');
    } finally {
      await acl.close();
    }
  });
});

describe('follows variables', () => {
  test('defaults: no throttle, 25 ms / 60 s, no bootstrap relays, hourly', () => {
    assert.deepEqual(loadFollowsSettings({}), {
      bootstrapRelays: [],
      refreshIntervalMs: 3_600_000,
      ownHosts: [],
    });
    const on = loadFollowsSettings({ ORLY_FOLLOWS_THROTTLE: 'true' });
    assert.deepEqual(on.throttle, { incrementMs: 25, maxMs: 60_000 });
  });

  test('durations, relay lists and own names', () => {
    const s = loadFollowsSettings({
      ORLY_FOLLOWS_THROTTLE: '1',
      ORLY_FOLLOWS_THROTTLE_INCREMENT: '200ms',
      ORLY_FOLLOWS_THROTTLE_MAX: '1m30s',
      ORLY_BOOTSTRAP_RELAYS: ' wss://Relay.Example.com/ , ws://127.0.0.1:7777,wss://relay.example.com',
      ORLY_FOLLOW_LIST_FREQUENCY: '0',
      ORLY_RELAY_URL: 'wss://me.example.com',
      ORLY_RELAY_ADDRESSES: 'other.example.com:8443, wss://alias.example.com/',
    });
    assert.deepEqual(s.throttle, { incrementMs: 200, maxMs: 90_000 });
    assert.deepEqual(s.bootstrapRelays, ['wss://relay.example.com', 'ws://127.0.0.1:7777']);
    assert.equal(s.refreshIntervalMs, 0);
    assert.deepEqual(s.ownHosts, ['me.example.com', 'other.example.com:8443', 'alias.example.com']);
    assert.equal(normalizeRelayUrl('https://x.example.com'), undefined);
    assert.equal(normalizeRelayUrl('wss://x.example.com:443/a/'), 'wss://x.example.com/a');
  });

  test('invalid values name the variable', () => {
    for (const [name, value] of [
      ['ORLY_FOLLOWS_THROTTLE', 'maybe'],
      ['ORLY_FOLLOWS_THROTTLE_INCREMENT', 'fast'],
      ['ORLY_FOLLOWS_THROTTLE_MAX', '11m'],
      ['ORLY_BOOTSTRAP_RELAYS', 'https://relay.example.com'],
      ['ORLY_FOLLOW_LIST_FREQUENCY', 'hourly'],
    ] as const) {
      assert.throws(
        () => loadFollowsSettings({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(name),
        name,
      );
    }
  });
});
