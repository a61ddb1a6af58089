/**
 * The relay-side pieces that need no socket: the NIP-77 configuration variables (defaults,
 * durations, validation), the session table (reserve/replace/close, one sweep expiring idle
 * sessions), and the item-set helpers of the NEG-OPEN handler (hiding restricted items,
 * keeping the newest `limit`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/env.js';
import { NegentropySession } from '../../src/negentropy/codec/session.js';
import { SealedVector } from '../../src/negentropy/codec/storage.js';
import { fromHex, toHex } from '../../src/negentropy/codec/types.js';
import { newest, subtractSorted, unionSorted } from '../../src/negentropy/item-set.js';
import { SessionTable } from '../../src/negentropy/session-table.js';
import { loadRelayConfig } from '../../src/relay/config.js';
import { relayInformation } from '../../src/relay/nip11.js';

describe('NIP-77 configuration', () => {
  it('defaults: disabled, 5m timeout, 8 sessions, 1,000,000 records, 500,000-byte frames', () => {
    const c = loadRelayConfig({ HOME: '/home/op' });
    assert.deepEqual(c.negentropy, {
      enabled: false,
      sessionTimeoutMs: 300_000,
      maxSessions: 8,
      maxRecords: 1_000_000,
      frameSizeLimit: 500_000,
      maxItemsTotal: 2_000_000,
      maxItemsPerIp: 1_000_000,
    });
    assert.ok(!(relayInformation(c).supported_nips as number[]).includes(77));
  });

  it('values are parsed; durations accept 30s, 5m, 1h, 500ms and plain seconds', () => {
    const c = loadRelayConfig({
      ORLY_NEGENTROPY_ENABLED: 'true',
      ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT: '30s',
      ORLY_NEGENTROPY_MAX_SESSIONS: '3',
      ORLY_NEGENTROPY_MAX_RECORDS: '5000',
      ORLY_NEGENTROPY_FRAME_SIZE: '0',
    });
    assert.deepEqual(c.negentropy, {
      enabled: true,
      sessionTimeoutMs: 30_000,
      maxSessions: 3,
      maxRecords: 5000,
      frameSizeLimit: 0,
      maxItemsTotal: 2_000_000,
      maxItemsPerIp: 1_000_000,
    });
    assert.deepEqual(relayInformation(c).supported_nips, [1, 9, 11, 40, 42, 45, 70, 77]);
    const timeout = (v: string) =>
      loadRelayConfig({ ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT: v }).negentropy.sessionTimeoutMs;
    assert.equal(timeout('5m'), 300_000);
    assert.equal(timeout('1h'), 3_600_000);
    assert.equal(timeout('500ms'), 500);
    assert.equal(timeout('45'), 45_000);
    assert.equal(timeout('1.5s'), 1500);
    assert.equal(
      loadRelayConfig({ ORLY_SYNC_NEGENTROPY_FRAME_SIZE: '60000' }).negentropy.frameSizeLimit,
      60_000,
    );
  });

  it('invalid values name their variable', () => {
    const cases: Record<string, string> = {
      ORLY_NEGENTROPY_ENABLED: 'maybe',
      ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT: '5 minutes',
      ORLY_NEGENTROPY_MAX_SESSIONS: '0',
      ORLY_NEGENTROPY_MAX_RECORDS: '-1',
      ORLY_NEGENTROPY_FRAME_SIZE: '1000',
    };
    for (const [name, value] of Object.entries(cases)) {
      assert.throws(
        () => loadRelayConfig({ [name]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === name,
        name,
      );
    }
    assert.throws(() => loadRelayConfig({ ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT: '0s' }), ConfigError);
  });
});

describe('session table', () => {
  const conn = (id: number) => ({ id });
  type Conn = ReturnType<typeof conn>;

  it('reserve, replace, close, count; closeConnection on disconnect', () => {
    const t = new SessionTable<Conn, undefined>({ idleTimeoutMs: 1000 });
    const a = conn(1);
    const s1 = t.reserve(a, 'x', undefined);
    assert.ok(t.isCurrent(a, 'x', s1));
    t.close(a, 'x');
    const s2 = t.reserve(a, 'x', undefined);
    assert.ok(!t.isCurrent(a, 'x', s1), 'a late result of the old NEG-OPEN is dropped');
    assert.ok(t.isCurrent(a, 'x', s2));
    t.reserve(a, 'y', undefined);
    t.reserve(conn(2), 'x', undefined);
    assert.equal(t.count(a), 2);
    assert.equal(t.total, 3);
    t.closeConnection(a);
    assert.equal(t.count(a), 0);
    assert.equal(t.total, 1);
  });

  it('the cap counts opening sessions per connection; a replacement is closed first', () => {
    const t = new SessionTable<Conn, undefined>({ idleTimeoutMs: 0, maxPerConnection: 2 });
    const a = conn(1);
    t.reserve(a, 'x', undefined);
    assert.ok(!t.isFull(a));
    t.reserve(a, 'y', undefined);
    assert.ok(t.isFull(a));
    assert.ok(!t.isFull(conn(2)), 'the cap is per connection');
    t.close(a, 'x');
    assert.ok(!t.isFull(a));
  });

  it('one sweep expires idle sessions only (not those still opening) and reports them', () => {
    const expired: string[] = [];
    const t = new SessionTable<Conn, undefined>({
      idleTimeoutMs: 1000,
      onExpire: (_c, subId) => expired.push(subId),
    });
    const a = conn(1);
    t.reserve(a, 'opening', undefined);
    Object.assign(t.reserve(a, 'idle', undefined), { ready: true, lastActive: 0 });
    Object.assign(t.reserve(a, 'active', undefined), { ready: true, lastActive: 900 });
    t.sweep(1000);
    assert.deepEqual(expired, ['idle']);
    assert.equal(t.count(a), 2);
    t.sweep(1900);
    assert.deepEqual(expired, ['idle', 'active']);
    assert.equal(t.count(a), 1);
  });

  it('a session answers, counts rounds and bytes, and refreshes its activity', () => {
    const s = new NegentropySession(
      's',
      SealedVector.fromUnsorted([{ timestamp: 1000, id: 'aa'.repeat(32) }]),
      {},
      0,
    );
    assert.equal(toHex(s.handle(fromHex('6100000200'), 50)), `6100000201${'aa'.repeat(32)}`);
    assert.deepEqual(s.stats, { items: 1, rounds: 1, bytesIn: 5, bytesOut: 37 });
    assert.ok(!s.isIdle(1049, 1000));
    assert.ok(s.isIdle(1050, 1000));
  });
});

describe('item-set helpers', () => {
  const pack = (rows: [number, number][]) => ({
    count: rows.length,
    timestamps: Float64Array.from(rows.map((r) => r[0])),
    ids: Uint8Array.from(Buffer.concat(rows.map((r) => Buffer.alloc(32, r[1])))),
  });
  const rowsOf = (p: { count: number; timestamps: Float64Array; ids: Uint8Array }) =>
    Array.from({ length: p.count }, (_, i) => [p.timestamps[i]!, p.ids[i * 32]!]);

  it('subtractSorted removes exactly the hidden items', () => {
    const all = pack([
      [1, 1],
      [1, 2],
      [2, 1],
      [3, 5],
      [3, 6],
    ]);
    assert.deepEqual(
      rowsOf(
        subtractSorted(
          all,
          pack([
            [1, 2],
            [3, 5],
            [4, 4],
          ]),
        ),
      ),
      [
        [1, 1],
        [2, 1],
        [3, 6],
      ],
    );
    assert.equal(subtractSorted(all, pack([])), all);
  });

  it('unionSorted merges two sorted sets, each item once', () => {
    const a = pack([
      [1, 1],
      [2, 1],
      [3, 6],
    ]);
    const b = pack([
      [1, 2],
      [2, 1],
      [4, 4],
    ]);
    assert.deepEqual(rowsOf(unionSorted(a, b)), [
      [1, 1],
      [1, 2],
      [2, 1],
      [3, 6],
      [4, 4],
    ]);
    assert.equal(unionSorted(a, pack([])), a);
    assert.equal(unionSorted(pack([]), b), b);
  });

  it('newest keeps what a REQ with that limit returns: newest first, ties lowest id first', () => {
    const all = pack([
      [1, 9],
      [2, 3],
      [2, 4],
      [2, 5],
      [3, 1],
    ]);
    assert.deepEqual(rowsOf(newest(all, 2)), [
      [2, 3],
      [3, 1],
    ]);
    assert.deepEqual(rowsOf(newest(all, 3)), [
      [2, 3],
      [2, 4],
      [3, 1],
    ]);
    assert.equal(newest(all, 0).count, 0);
    assert.equal(newest(all, 5), all);
    assert.equal(newest(all, 50), all);
  });
});
