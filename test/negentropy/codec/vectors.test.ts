/**
 * Every vector of negentropy.md §6.3 (varints), §6.5 (fingerprints) and §6.7 (messages),
 * plus the codec's edge cases: 64-bit varints, rejected overlong/oversized varints,
 * timestamp saturation at infinity, minimal bounds, bound prefixes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundDecoder, BoundEncoder, minimalBound } from '../../../src/negentropy/codec/encoding.js';
import { fingerprintOf } from '../../../src/negentropy/codec/fingerprint.js';
import { Initiator, Responder } from '../../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../../src/negentropy/codec/storage.js';
import { fromHex, MAX_U64, NegentropyError, toHex } from '../../../src/negentropy/codec/types.js';
import { ByteWriter, decodeVarint, encodeVarint, Reader } from '../../../src/negentropy/codec/varint.js';
import { hex, runSync } from './helpers.js';

describe('§6.3 varints', () => {
  const vectors: [number | bigint, string][] = [
    [0, '00'],
    [127, '7f'],
    [128, '8100'],
    [300, '822c'],
    [1700000004, '86aacfe204'],
    [2 ** 32, '9080808000'],
    [2n ** 64n - 1n, '81ffffffffffffffff7f'],
  ];
  for (const [value, expected] of vectors) {
    it(`${value} <-> ${expected}`, () => {
      assert.equal(hex(encodeVarint(value)), expected);
      assert.equal(decodeVarint(fromHex(expected)), BigInt(value));
    });
  }

  it('is exact across 2^31, 2^32, 2^53 and 2^63 (no 32-bit shifts)', () => {
    for (const v of [
      2n ** 31n - 1n,
      2n ** 31n,
      2n ** 32n + 5n,
      2n ** 53n - 1n,
      2n ** 53n,
      2n ** 53n + 1n,
      2n ** 63n,
    ]) {
      assert.equal(decodeVarint(encodeVarint(v)), v);
    }
    for (const v of [2 ** 31, 2 ** 31 + 1, 4102444800 /* 2100-01-01 */, Number.MAX_SAFE_INTEGER]) {
      assert.equal(decodeVarint(encodeVarint(v)), BigInt(v));
    }
  });

  it('rejects varints above 2^64-1, longer than 10 bytes, or cut short', () => {
    assert.throws(() => decodeVarint(fromHex('82808080808080808000')), /exceeds 2\^64-1/); // 2^64
    assert.throws(() => decodeVarint(fromHex('8080808080808080808000')), /longer than 10 bytes/);
    assert.throws(() => decodeVarint(fromHex('ff'.repeat(11))), NegentropyError);
    assert.throws(() => decodeVarint(fromHex('81')), /premature end/);
    assert.throws(() => decodeVarint(new Uint8Array(0)), /premature end/);
    assert.throws(() => encodeVarint(2n ** 64n), NegentropyError);
    assert.throws(() => encodeVarint(-1), NegentropyError);
    assert.throws(() => encodeVarint(1.5), NegentropyError);
  });

  it('small-number reads refuse values that do not fit a JS number', () => {
    assert.throws(() => new Reader(encodeVarint(2n ** 60n)).varint(), /too large/);
    assert.equal(new Reader(encodeVarint(2 ** 40)).varint(), 2 ** 40);
  });
});

describe('§6.5 fingerprints', () => {
  it('one id 01 00..00', () => {
    const id = new Uint8Array(32);
    id[0] = 1;
    assert.equal(hex(fingerprintOf([id])), '2e255099d6d6bee307c8e7075acc78f9');
  });

  it('ff..ff + 02 00..00 wraps to 01 00..00 with count 2', () => {
    const a = new Uint8Array(32).fill(0xff);
    const b = new Uint8Array(32);
    b[0] = 2;
    assert.equal(hex(fingerprintOf([a, b])), '6092a26dea6bc7bdc57a942f1df2d0d7');
  });

  it('range fingerprints from block sums equal direct sums, for every range of a small set', () => {
    const items = Array.from({ length: 70 }, (_, i) => ({
      timestamp: 1000 + (i >> 2),
      id: Buffer.alloc(32, (i * 37) & 0xff)
        .fill(i, 0, 1)
        .fill(0xff, 31),
    }));
    const v = SealedVector.fromUnsorted(items);
    for (let lo = 0; lo <= v.size; lo += 3) {
      for (let hi = lo; hi <= v.size; hi += 5) {
        const ids = Array.from({ length: hi - lo }, (_, k) => v.idAt(lo + k));
        assert.equal(hex(v.fingerprint(lo, hi)), hex(fingerprintOf(ids)), `[${lo}, ${hi})`);
      }
    }
  });
});

describe('§6.7 messages', () => {
  const aa = 'aa'.repeat(32);
  const one = () => SealedVector.fromUnsorted([{ timestamp: 1000, id: aa }]);

  it('client initiate, empty set: 6100000200', () => {
    assert.equal(hex(new Initiator(SealedVector.fromUnsorted([])).initiate()), '6100000200');
  });

  it('client initiate, one item (ts 1000, id aa..aa)', () => {
    assert.equal(hex(new Initiator(one()).initiate()), `6100000201${aa}`);
  });

  it('server reply to 6100000200 when it holds that one item', () => {
    assert.equal(hex(new Responder(one()).reconcile(fromHex('6100000200'))), `6100000201${aa}`);
  });

  it('server reply to any 62... message is 61', () => {
    for (const msg of ['62', '6200000200', '62ffffff', '60', '6f01']) {
      assert.equal(hex(new Responder(one()).reconcile(fromHex(msg))), '61', msg);
    }
  });

  it('an initiator receiving another version throws a clear error; bytes outside 0x60-0x6f are invalid', () => {
    const ini = new Initiator(one());
    ini.initiate();
    assert.throws(() => ini.reconcile(fromHex('62')), /unsupported negentropy protocol version requested: 2/);
    assert.throws(() => ini.reconcile(fromHex('00')), /invalid negentropy protocol version byte/);
    assert.throws(
      () => new Responder(one()).reconcile(fromHex('70')),
      /invalid negentropy protocol version byte/,
    );
  });

  it('client initiate, 40 items with ts 1700000000+i: 309 bytes, 16 fingerprint buckets', () => {
    const items = Array.from({ length: 40 }, (_, i) => ({
      timestamp: 1700000000 + i,
      id: Buffer.alloc(32, i),
    }));
    const msg = new Initiator(SealedVector.fromUnsorted(items)).initiate();
    assert.equal(msg.length, 309);
    const h = hex(msg);
    // 61, bound (ts 1700000003 as 1+offset, no prefix), mode 1, then a 16-byte fingerprint
    assert.equal(h.slice(0, 16), '6186aacfe2040001');
    assert.equal(h.slice(16 + 32, 16 + 32 + 6), '040001'); // next bound: +3 (1+3 = 04), prefix 0, mode 1
    // first bucket = items 0..2
    assert.equal(h.slice(16, 48), hex(fingerprintOf([0, 1, 2].map((i) => new Uint8Array(32).fill(i)))));
    assert.equal(h.slice(-34, -32), '01'); // last range is a fingerprint ...
    assert.equal(h.slice(-38, -34), '0000'); // ... ending at infinity
  });

  it('client with items 0-29, server 10-39: one round, 965-byte reply, have 10 / need 10', () => {
    const all = Array.from({ length: 40 }, (_, i) => ({
      timestamp: 1700000000 + i,
      id: Buffer.alloc(32, i),
    }));
    const client = SealedVector.fromUnsorted(all.slice(0, 30));
    const server = SealedVector.fromUnsorted(all.slice(10, 40));
    const ini = new Initiator(client);
    const first = ini.initiate();
    assert.equal(first[3], 2); // IdList
    const reply = new Responder(server).reconcile(first);
    assert.equal(reply.length, 965);
    const r = ini.reconcile(reply);
    assert.equal(r.next, undefined);
    assert.deepEqual(new Set(r.have), new Set(all.slice(0, 10).map((x) => x.id.toString('hex'))));
    assert.deepEqual(new Set(r.need), new Set(all.slice(30).map((x) => x.id.toString('hex'))));
    const full = runSync(client, server, 0, 0);
    assert.equal(full.rounds, 1);
  });
});

describe('bounds', () => {
  it('timestamps are delta-encoded per message and infinity is 0', () => {
    const w = new ByteWriter();
    const enc = new BoundEncoder();
    enc.bound(w, { timestamp: 1000n, id: new Uint8Array(0) });
    enc.bound(w, { timestamp: 1005n, id: Uint8Array.of(0xab) });
    enc.bound(w, { timestamp: MAX_U64, id: new Uint8Array(0) });
    assert.equal(toHex(w.toBytes()), '876900' + '0601ab' + '0000');
    const r = new Reader(w.toBytes());
    const dec = new BoundDecoder();
    assert.equal(dec.bound(r).timestamp, 1000n);
    const b = dec.bound(r);
    assert.equal(b.timestamp, 1005n);
    assert.equal(toHex(b.id), 'ab');
    assert.equal(dec.bound(r).timestamp, MAX_U64);
  });

  it('decoding saturates at infinity (overflow, and everything after infinity)', () => {
    const dec = new BoundDecoder();
    const r = new Reader(fromHex('81ffffffffffffffff7f00' + '0200' + '0000' + '0500'));
    assert.equal(dec.bound(r).timestamp, MAX_U64 - 1n); // 1 + (2^64-2)
    assert.equal(dec.bound(r).timestamp, MAX_U64); // +1 -> 2^64-1
    assert.equal(dec.bound(r).timestamp, MAX_U64);
    assert.equal(dec.bound(r).timestamp, MAX_U64); // after infinity stays infinity
  });

  it('a prefix longer than 32 bytes is an error', () => {
    assert.throws(() => new BoundDecoder().bound(new Reader(fromHex('0121' + '00'.repeat(33)))), /too long/);
  });

  it('minimal bounds: timestamp only when timestamps differ, else shared prefix + 1 byte', () => {
    const a = fromHex('aabbcc' + '00'.repeat(29));
    const b = fromHex('aabbdd' + '00'.repeat(29));
    assert.deepEqual(minimalBound(5, a, 6, b), { timestamp: 6n, id: new Uint8Array(0) });
    assert.equal(toHex(minimalBound(5, a, 5, b).id), 'aabbdd');
  });

  it('timestamps past 2038 and up to 2^53-1 reconcile exactly', () => {
    for (const base of [2 ** 31 + 7, 2 ** 32 + 1, 4102444800, Number.MAX_SAFE_INTEGER - 100]) {
      const items = Array.from({ length: 100 }, (_, i) => ({
        timestamp: base + (i % 50),
        id: Buffer.alloc(32, i + 1),
      }));
      const r = runSync(
        SealedVector.fromUnsorted(items.slice(0, 70)),
        SealedVector.fromUnsorted(items.slice(20)),
        0,
        0,
      );
      assert.equal(r.have.size, 20);
      assert.equal(r.need.size, 30);
    }
  });
});

describe('sealed storage', () => {
  it('rejects unsorted, duplicate and unusable items', () => {
    const id = (b: number) => Buffer.alloc(32, b);
    const pack = (rows: [number, number][]) => ({
      count: rows.length,
      timestamps: Float64Array.from(rows.map((r) => r[0])),
      ids: Uint8Array.from(Buffer.concat(rows.map((r) => id(r[1])))),
    });
    assert.equal(
      SealedVector.fromSorted(
        pack([
          [1, 1],
          [1, 2],
          [2, 0],
        ]),
      ).size,
      3,
    );
    assert.throws(
      () =>
        SealedVector.fromSorted(
          pack([
            [2, 1],
            [1, 2],
          ]),
        ),
      /not sorted/,
    );
    assert.throws(
      () =>
        SealedVector.fromSorted(
          pack([
            [1, 2],
            [1, 1],
          ]),
        ),
      /not sorted/,
    );
    assert.throws(
      () =>
        SealedVector.fromSorted(
          pack([
            [1, 1],
            [1, 1],
          ]),
        ),
      /duplicate/,
    );
    assert.throws(() => SealedVector.fromSorted(pack([[-1, 1]])), /bad timestamp/);
    assert.throws(() => SealedVector.fromSorted(pack([[2 ** 60, 1]])), /bad timestamp/);
    assert.throws(() => SealedVector.fromUnsorted([{ timestamp: 1, id: 'abcd' }]), /bad id size/);
  });

  it('frame size limits below 4096 (other than 0) are refused', () => {
    const v = SealedVector.fromUnsorted([]);
    assert.throws(() => new Responder(v, { frameSizeLimit: 4095 }), /frameSizeLimit/);
    assert.throws(() => new Initiator(v, { frameSizeLimit: 100 }), /frameSizeLimit/);
    new Responder(v, { frameSizeLimit: 0 });
    new Responder(v, { frameSizeLimit: 4096 });
  });

  it('an initiator must initiate once, before reconciling', () => {
    const ini = new Initiator(SealedVector.fromUnsorted([]));
    assert.throws(() => ini.reconcile(fromHex('61')), /initiate/);
    ini.initiate();
    assert.throws(() => ini.initiate(), /already initiated/);
  });
});
