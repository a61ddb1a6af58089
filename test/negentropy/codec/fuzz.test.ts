/**
 * Decoder fuzzing: random bytes, random mutations and truncations of valid messages, fed to
 * responders and initiators over small and larger sets. Every input must either be answered
 * or rejected with a NegentropyError, quickly: no other exception, no hang, no huge output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Initiator, Responder } from '../../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../../src/negentropy/codec/storage.js';
import { fromHex, NegentropyError } from '../../../src/negentropy/codec/types.js';
import { seededRandom } from '../../helpers/events.js';
import { scenario, seal } from './helpers.js';

function feed(fn: () => unknown): 'ok' | 'rejected' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!(err instanceof NegentropyError)) throw err;
    return 'rejected';
  }
}

function randomBytes(rand: () => number, n: number, versionByte?: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  if (versionByte !== undefined && n > 0) b[0] = versionByte;
  return b;
}

const s = scenario(77, 3000, 200, 200, 'clustered');
const serverSets = [SealedVector.fromUnsorted([]), seal(s.server.slice(0, 40)), seal(s.server)];

describe('fuzzing the decoder', () => {
  it('random bytes (mostly with a valid version byte) never crash a responder', () => {
    const rand = seededRandom(1);
    const counts = { ok: 0, rejected: 0 };
    const started = Date.now();
    for (let i = 0; i < 6000; i++) {
      const len = Math.floor(rand() * (i % 10 === 0 ? 2000 : 64));
      const msg = randomBytes(rand, len, rand() < 0.9 ? 0x61 : undefined);
      for (const storage of serverSets) {
        const limit = [0, 4096, 60_000][i % 3]!;
        counts[feed(() => new Responder(storage, { frameSizeLimit: limit }).reconcile(msg))]++;
      }
    }
    assert.ok(counts.rejected > 0 && counts.ok > 0, JSON.stringify(counts));
    assert.ok(Date.now() - started < 20_000, 'fuzzing took too long');
  });

  it('random bytes never crash an initiator', () => {
    const rand = seededRandom(2);
    for (let i = 0; i < 3000; i++) {
      const ini = new Initiator(seal(s.client.slice(0, (i % 4) * 30)), { frameSizeLimit: i % 2 ? 4096 : 0 });
      ini.initiate();
      feed(() => ini.reconcile(randomBytes(rand, Math.floor(rand() * 300), 0x61)));
    }
  });

  it('mutated and truncated valid messages never crash either side', () => {
    const rand = seededRandom(3);
    const client = seal(s.client);
    const server = seal(s.server);
    // Collect real messages of a full exchange.
    const messages: Uint8Array[] = [];
    const ini = new Initiator(client, { frameSizeLimit: 4096 });
    const resp = new Responder(server, { frameSizeLimit: 4096 });
    let msg: Uint8Array | undefined = ini.initiate();
    while (msg !== undefined) {
      messages.push(msg);
      const reply = resp.reconcile(msg);
      messages.push(reply);
      msg = ini.reconcile(reply).next;
    }
    assert.ok(messages.length > 4);
    for (let i = 0; i < 4000; i++) {
      const base = messages[Math.floor(rand() * messages.length)]!;
      const m = base.slice(0, rand() < 0.3 ? Math.floor(rand() * base.length) : base.length);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips && m.length > 1; f++)
        m[1 + Math.floor(rand() * (m.length - 1))] = Math.floor(rand() * 256);
      feed(() => new Responder(server, { frameSizeLimit: 4096 }).reconcile(m));
      const other = new Initiator(client);
      other.initiate();
      feed(() => other.reconcile(m));
    }
  });

  it('hostile inputs: huge counts, overlong varints, oversize prefixes, bad modes, garbage hex', () => {
    const storage = seal(s.server);
    const cases = [
      '61', // nothing to do
      '6100', // truncated bound
      '610000', // bound without mode
      '61000003', // mode 3
      '6100000289ffffffffffffff7f', // IdList count far beyond the message
      '610000028fffffffffffffffff7f', // count varint too large
      '61808080808080808080800000', // timestamp varint of 11 bytes
      '6182808080808080808000000000', // timestamp 2^64
      '61002100', // prefix of 33 bytes
      '61000001aabb', // fingerprint cut short
      '6181ffffffffffffffff7f0002000000020000000200', // 2^64-1 then more bounds: saturated, fine
    ];
    for (const hex of cases)
      feed(() => new Responder(storage, { frameSizeLimit: 4096 }).reconcile(fromHex(hex)));
    assert.throws(() => fromHex('6'), NegentropyError);
    assert.throws(() => fromHex('6g'), NegentropyError);
    assert.throws(() => fromHex('61 00'), NegentropyError);
    assert.throws(() => new Responder(storage).reconcile(new Uint8Array(0)), NegentropyError);
  });

  it('a message of 100,000 empty IdList ranges is bounded work', () => {
    const storage = seal(s.server);
    const parts = ['61'];
    for (let i = 0; i < 100_000; i++) parts.push('020200'); // +1 second each, IdList, 0 ids
    const started = Date.now();
    const reply = new Responder(storage, { frameSizeLimit: 60_000 }).reconcile(fromHex(parts.join('')));
    assert.ok(reply.length <= 60_000);
    assert.ok(Date.now() - started < 5000);
  });
});
