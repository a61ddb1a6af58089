/**
 * The edge's machinery without sockets: token buckets, the bounded keyed table (an attacker
 * cycling addresses cannot grow it; idle buckets expire), the connection guard's counting, the
 * address key (IPv6 by /64), and the configuration of the limits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/env.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { addressKey, ConnectionGuard } from '../../src/relay/connection-guard.js';
import { relayInformation } from '../../src/relay/nip11.js';
import { KeyedBuckets, TokenBucket } from '../../src/relay/rate-limit.js';

describe('TokenBucket', () => {
  it('lets a burst through, then refills at its rate up to the burst', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, 0);
    assert.deepEqual(
      [0, 0, 0, 0].map(() => bucket.take(0)),
      [true, true, true, false],
    );
    assert.equal(bucket.waitMs(0), 500);
    assert.equal(bucket.take(499), false);
    assert.equal(bucket.take(500), true);
    assert.equal(bucket.take(500), false);
    // A long pause refills to the burst, not beyond.
    assert.deepEqual(
      [0, 0, 0, 0].map(() => bucket.take(60_000)),
      [true, true, true, false],
    );
    assert.equal(bucket.has(60_000), false);
  });
});

describe('KeyedBuckets', () => {
  it('keeps one bucket per key', () => {
    const table = new KeyedBuckets({ perSecond: 1, burst: 1 }, 10);
    assert.equal(table.bucket('a', 0).take(0), true);
    assert.equal(table.bucket('a', 0).take(0), false);
    assert.equal(table.bucket('b', 0).take(0), true);
  });

  it('never holds more than maxKeys, evicting the least recently used', () => {
    const table = new KeyedBuckets({ perSecond: 1, burst: 5 }, 100);
    table.bucket('busy', 0).take(0);
    for (let i = 0; i < 10_000; i++) {
      table.bucket(`198.51.${i >> 8}.${i & 255}`, 1);
      if (i % 50 === 0) table.bucket('busy', 1);
      assert.ok(table.size <= 100);
    }
    assert.equal(table.size, 100);
    // The key used all along survived the churn, with its state.
    const busy = table.bucket('busy', 1);
    for (let i = 0; i < 4; i++) assert.equal(busy.take(1), true);
    assert.equal(busy.take(1), false);
  });

  it('forgets buckets unused long enough to be full again', () => {
    const table = new KeyedBuckets({ perSecond: 10, burst: 20 }, 1000);
    for (let i = 0; i < 500; i++) table.bucket(`k${i}`, i).take(i);
    table.sweep(500 + 1999 - 499);
    assert.ok(table.size < 500 && table.size > 0, String(table.size));
    table.sweep(500 + 2000);
    assert.equal(table.size, 0);
    // A new key sweeps too: stale entries do not wait for the periodic sweep.
    for (let i = 0; i < 10; i++) table.bucket(`old${i}`, 0);
    table.bucket('new', 10_000);
    assert.equal(table.size, 1);
  });
});

describe('ConnectionGuard', () => {
  const limits = {
    maxConnections: 1000,
    maxConnectionsPerIp: 2,
    maxUpgradesPerMinutePerIp: 0,
    eventRate: { perSecond: 1, burst: 2 },
    eventRatePerIp: { perSecond: 1, burst: 3 },
  };

  it('counts open connections per address and in total, and forgets an address with none', () => {
    const guard = new ConnectionGuard({ ...limits, maxConnections: 3 });
    assert.equal(guard.admit('198.51.100.1', 0), undefined);
    guard.opened('198.51.100.1', 0);
    guard.opened('198.51.100.1', 0);
    assert.equal(guard.admit('198.51.100.1', 0)?.status, 429);
    assert.equal(guard.admit('198.51.100.1', 0)?.limit, 'connections_per_ip');
    assert.equal(guard.admit('198.51.100.2', 0), undefined);
    guard.opened('198.51.100.2', 0);
    assert.equal(guard.admit('198.51.100.3', 0)?.status, 503);
    guard.closed('198.51.100.1');
    assert.equal(guard.admit('198.51.100.1', 0), undefined);
    guard.closed('198.51.100.1');
    guard.closed('198.51.100.2');
    assert.equal(guard.trackedAddresses, 0);
  });

  it('per-connection and per-address message buckets', () => {
    const guard = new ConnectionGuard(limits);
    const a = guard.opened('198.51.100.1', 0);
    const b = guard.opened('198.51.100.1', 0);
    const other = guard.opened('198.51.100.2', 0);
    assert.equal(a.take('event', 0), undefined);
    assert.equal(a.take('event', 0), undefined);
    assert.deepEqual(a.take('event', 0), { scope: 'connection', perSecond: 1 });
    // b has its own bucket, but the address has one token left.
    assert.equal(b.take('event', 0), undefined);
    assert.deepEqual(b.take('event', 0), { scope: 'address', perSecond: 1 });
    assert.equal(other.take('event', 0), undefined);
    // No REQ limit configured.
    for (let i = 0; i < 100; i++) assert.equal(a.take('req', 0), undefined);
    // Refilled.
    assert.equal(a.take('event', 1000), undefined);
  });

  it('an attacker cycling addresses cannot grow the tables without bound', () => {
    const guard = new ConnectionGuard({
      maxConnections: 0,
      maxConnectionsPerIp: 5,
      maxUpgradesPerMinutePerIp: 10,
      eventRatePerIp: { perSecond: 1, burst: 10 },
      reqRatePerIp: { perSecond: 1, burst: 10 },
    });
    for (let i = 0; i < 200_000; i++) {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      if (guard.admit(ip, i) !== undefined) continue;
      const limiter = guard.opened(ip, i);
      limiter.take('event', i);
      limiter.take('req', i);
      guard.closed(ip);
    }
    // Three bucket tables of at most 65,536 entries each; no open connection is left counted.
    assert.ok(guard.trackedAddresses <= 3 * 65_536, String(guard.trackedAddresses));
    guard.sweep(200_000 + 60_000);
    assert.equal(guard.trackedAddresses, 0);
  });

  it('refuses the upgrades beyond the per-minute rate with a Retry-After', () => {
    const guard = new ConnectionGuard({
      maxConnections: 0,
      maxConnectionsPerIp: 0,
      maxUpgradesPerMinutePerIp: 3,
    });
    for (let i = 0; i < 3; i++) assert.equal(guard.admit('198.51.100.1', 0), undefined);
    const refused = guard.admit('198.51.100.1', 0);
    assert.equal(refused?.status, 429);
    assert.equal(refused?.limit, 'upgrades_per_ip');
    assert.equal(refused?.retryAfterSeconds, 20);
    assert.equal(guard.admit('198.51.100.2', 0), undefined);
    assert.equal(guard.admit('198.51.100.1', 20_000), undefined);
  });
});

describe('addressKey', () => {
  it('is the IPv4 address, or the /64 of an IPv6 address', () => {
    assert.equal(addressKey('198.51.100.7'), '198.51.100.7');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2::9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:DB8:0001:0002:ffff::'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('::ffff:1.2.3.4'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('unknown'), 'unknown');
  });
});

describe('NIP-11', () => {
  it('limitation lists standard NIP-11 fields and the filter caps, not the edge limits', () => {
    const standard = new Set([
      'max_message_length',
      'max_subscriptions',
      'max_filters',
      'max_limit',
      'max_subid_length',
      'max_event_tags',
      'max_content_length',
      'min_pow_difficulty',
      'auth_required',
      'payment_required',
      'restricted_writes',
      'created_at_lower_limit',
      'created_at_upper_limit',
      'default_limit',
      'max_filter_values',
      'max_req_values',
      'max_subscription_bytes',
    ]);
    const config = loadRelayConfig({
      ORLY_MAX_CONNECTIONS_PER_IP: '5',
      ORLY_EVENT_RATE: '1',
      ORLY_REQ_RATE: '2',
    });
    const limitation = relayInformation(config).limitation as Record<string, unknown>;
    assert.deepEqual(
      Object.keys(limitation).filter((key) => !standard.has(key)),
      [],
    );
  });
});

describe('configuration', () => {
  it('defaults', () => {
    const { edge } = loadRelayConfig({});
    assert.deepEqual(edge, {
      maxConnections: 10_000,
      maxConnectionsPerIp: 20,
      maxUpgradesPerMinutePerIp: 60,
      eventRate: { perSecond: 20, burst: 200 },
      eventRatePerIp: { perSecond: 50, burst: 500 },
      reqRate: { perSecond: 20, burst: 100 },
      reqRatePerIp: { perSecond: 50, burst: 300 },
    });
  });

  it('0 turns a limit off', () => {
    const { edge } = loadRelayConfig({
      ORLY_MAX_CONNECTIONS: '0',
      ORLY_EVENT_RATE: '0',
      ORLY_REQ_RATE_PER_IP: '0',
      ORLY_REQ_BURST: '7',
      ORLY_EVENT_RATE_PER_IP: '0.25',
    });
    assert.deepEqual(edge.eventRatePerIp, { perSecond: 0.25, burst: 500 });
    assert.equal(edge.maxConnections, 0);
    assert.equal(edge.eventRate, undefined);
    assert.equal(edge.reqRatePerIp, undefined);
    assert.deepEqual(edge.reqRate, { perSecond: 20, burst: 7 });
  });

  it('an invalid value names its variable', () => {
    for (const [name, value] of [
      ['ORLY_MAX_CONNECTIONS', '-1'],
      ['ORLY_MAX_CONNECTIONS_PER_IP', 'many'],
      ['ORLY_MAX_UPGRADES_PER_MINUTE_PER_IP', '1.5'],
      ['ORLY_EVENT_RATE', 'x'],
      ['ORLY_EVENT_BURST', '0'],
      ['ORLY_EVENT_RATE_PER_IP', '-2'],
      ['ORLY_EVENT_BURST_PER_IP', ''.padEnd(3, 'z')],
      ['ORLY_REQ_RATE', '1e3'],
      ['ORLY_REQ_RATE', '.5'],
      ['ORLY_REQ_BURST', '0'],
      ['ORLY_REQ_RATE_PER_IP', 'off'],
      ['ORLY_REQ_BURST_PER_IP', '-1'],
    ] as const) {
      assert.throws(
        () => loadRelayConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === name,
        `${name}=${value}`,
      );
    }
  });
});
