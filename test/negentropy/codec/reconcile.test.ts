/**
 * Property tests: our initiator against our responder over random sets (empty up to 100,000
 * items; uniform, clustered, all-equal, post-2038 and near-2^53 timestamps) under frame limits
 * 0, 4096, 60,000 and 500,000, run to completion. have/need must be exactly the symmetric
 * difference, reported once each; every frame within its limit; round counts bounded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Initiator, Responder } from '../../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../../src/negentropy/codec/storage.js';
import { seededRandom } from '../../helpers/events.js';
import { assertSameSet, runSync, type Scenario, scenario, seal, type TimestampShape } from './helpers.js';

const SHAPES: TimestampShape[] = ['uniform', 'clustered', 'equal', 'post2038', 'huge'];

/** Generous bounds that still catch runaway exchanges. */
function maxRounds(n: number, diff: number, clientLimit: number, serverLimit: number): number {
  const levels = Math.ceil(Math.log(Math.max(n, 1)) / Math.log(16));
  if (clientLimit === 0 && serverLimit === 0) return 2 + Math.ceil(levels / 2);
  const limits = [clientLimit, serverLimit].filter((l) => l > 0);
  const perFrame = Math.min(...limits) - 200;
  return 20 + 50 * Math.ceil((diff * 32) / perFrame);
}

function check(s: Scenario, clientLimit: number, serverLimit: number, label: string) {
  const r = runSync(seal(s.client), seal(s.server), clientLimit, serverLimit);
  assertSameSet(r.have, s.have, `${label} have`);
  assertSameSet(r.need, s.need, `${label} need`);
  const n = Math.max(s.client.length, s.server.length);
  const bound = maxRounds(n, s.have.size + s.need.size, clientLimit, serverLimit);
  assert.ok(r.rounds <= bound, `${label}: ${r.rounds} rounds > ${bound}`);
  return r;
}

describe('reconcile: random small sets, random limits', () => {
  it('200 random scenarios (0-400 items per side)', () => {
    const rand = seededRandom(42);
    const limits = [0, 4096, 60_000];
    for (let seed = 1; seed <= 200; seed++) {
      const shared = Math.floor(rand() * 300);
      const a = rand() < 0.2 ? 0 : Math.floor(rand() * 100);
      const b = rand() < 0.2 ? 0 : Math.floor(rand() * 100);
      const shape = SHAPES[seed % SHAPES.length]!;
      const cl = limits[Math.floor(rand() * 3)]!;
      const sl = limits[Math.floor(rand() * 3)]!;
      check(
        scenario(seed, shared, a, b, shape),
        cl,
        sl,
        `seed ${seed} ${shape} ${shared}+${a}/${b} ${cl}/${sl}`,
      );
    }
  });

  it('edge sizes around the 32-item split threshold and 16 buckets', () => {
    for (const n of [0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 511, 512, 513]) {
      for (const [a, b] of [
        [0, 0],
        [n, 0],
        [0, n],
        [1, 1],
      ] as const) {
        check(scenario(1000 + n, n, a, b, 'equal'), 0, 0, `n=${n} ${a}/${b}`);
        check(scenario(2000 + n, n, a, b, 'uniform'), 4096, 4096, `n=${n} ${a}/${b} limited`);
      }
    }
  });
});

describe('reconcile: medium sets per timestamp shape and frame limit', () => {
  for (const shape of SHAPES) {
    it(`${shape}: 5,000 shared + 500 / 500`, () => {
      const s = scenario(7, 5000, 500, 500, shape);
      for (const [cl, sl] of [
        [0, 0],
        [4096, 4096],
        [60_000, 500_000],
        [60_000, 0],
      ] as const) {
        check(s, cl, sl, `${shape} ${cl}/${sl}`);
      }
    });
  }

  it('many equal timestamps: 5,000 shared + 3,000 server-only at 4096 / 4096', () => {
    const r = check(scenario(11, 5000, 0, 3000, 'equal'), 4096, 4096, 'equal 4096');
    assert.ok(r.rounds > 10, 'the small frames force many rounds');
  });
});

describe('reconcile: 100,000 items', () => {
  it('99,000 shared + 1,000 / 1,000 at 60,000 / 60,000 and unlimited', () => {
    const s = scenario(100, 99_000, 1000, 1000, 'uniform');
    const client = seal(s.client);
    const server = seal(s.server);
    const limited = runSync(client, server, 60_000, 60_000);
    assertSameSet(limited.have, s.have, 'have');
    assertSameSet(limited.need, s.need, 'need');
    assert.ok(limited.rounds <= maxRounds(100_000, 2000, 60_000, 60_000), `${limited.rounds} rounds`);
    const unlimited = runSync(client, server, 0, 0);
    assertSameSet(unlimited.have, s.have, 'have');
    assertSameSet(unlimited.need, s.need, 'need');
    assert.ok(unlimited.rounds <= 4, `${unlimited.rounds} rounds`);
  });

  it('identical 100,000-item sets: one round, nothing to do', () => {
    const s = scenario(101, 100_000, 0, 0, 'clustered');
    const v = seal(s.client);
    const r = runSync(v, seal(s.server), 60_000, 500_000);
    assert.equal(r.rounds, 1);
    assert.equal(r.have.size + r.need.size, 0);
  });

  it('100,000 against nothing, both ways', () => {
    const s = scenario(102, 0, 100_000, 0, 'uniform');
    const full = seal(s.client);
    const empty = SealedVector.fromUnsorted([]);
    const a = runSync(full, empty, 60_000, 500_000);
    assert.equal(a.have.size, 100_000);
    assert.equal(a.need.size, 0);
    const b = runSync(empty, full, 60_000, 500_000);
    assertSameSet(b.need, s.have, 'need');
    assert.equal(b.have.size, 0);
  });
});

describe('reconcile: frame truncation details', () => {
  it('a responder IdList under a limit ends at the first omitted item and never exceeds the frame', () => {
    const s = scenario(5, 0, 0, 2000, 'uniform');
    const server = seal(s.server);
    const resp = new Responder(server, { frameSizeLimit: 4096 });
    // The initiator has nothing: its first message is IdList(0) up to infinity.
    const ini = new Initiator(SealedVector.fromUnsorted([]), { frameSizeLimit: 4096 });
    const reply = resp.reconcile(ini.initiate());
    assert.ok(reply.length <= 4096);
    const r = ini.reconcile(reply);
    const ids = Math.floor((4096 - 200) / 32) + 1; // ids are added while the size is within the limit
    assert.ok(r.need.length >= ids - 2 && r.need.length <= ids, `${r.need.length} ids`);
    assert.ok(r.next !== undefined, 'the trailing fingerprint asks for the rest');
  });

  it('have/need are de-duplicated across rounds (a case where the reference re-reports ids)', () => {
    const s = scenario(258, 226, 154, 398, 'uniform');
    const r = runSync(seal(s.client), seal(s.server), 4096, 4096); // asserts nothing is reported twice
    assert.equal(r.have.size, 154);
    assert.equal(r.need.size, 398);
  });
});
