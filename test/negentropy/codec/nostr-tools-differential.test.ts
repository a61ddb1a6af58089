/**
 * Differential tests against nostr-tools' NIP-77 implementation (a port of the hoytech JS
 * reference), in both directions:
 *  - their initiator (client) against our responder: identical have/need;
 *  - our initiator in lockstep with theirs: byte-identical messages every round;
 *  - their Negentropy in the responder seat: nostr-tools has no responder mode (its reconcile
 *    treats a received IdList like an initiator: have/need, then Skip), so its replies are
 *    compared byte-for-byte with ours for every message that carries no IdList;
 *  - our initiator against our reconciler running over THEIR storage (NegentropyStorageVector:
 *    their sorting, binary search and fingerprints): identical have/need.
 * nostr-tools decodes varints with 32-bit shifts, so timestamps stay below 2^31 here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nip77 } from 'nostr-tools';
import { BoundDecoder } from '../../../src/negentropy/codec/encoding.js';
import { Initiator, Responder } from '../../../src/negentropy/codec/reconcile.js';
import type { NegentropyStorage } from '../../../src/negentropy/codec/storage.js';
import {
  type Bound,
  FINGERPRINT_SIZE,
  fromHex,
  MAX_U64,
  Mode,
  toHex,
} from '../../../src/negentropy/codec/types.js';
import { Reader } from '../../../src/negentropy/codec/varint.js';
import { assertSameSet, type Item, type Scenario, scenario, seal } from './helpers.js';

const { Negentropy, NegentropyStorageVector } = nip77;
type TheirStorage = InstanceType<typeof NegentropyStorageVector>;

function theirStorage(items: readonly Item[]): TheirStorage {
  const s = new NegentropyStorageVector();
  for (const item of items) s.insert(item.timestamp, item.id);
  s.seal();
  return s;
}

/** Our NegentropyStorage interface over nostr-tools' storage. */
class TheirStorageAdapter implements NegentropyStorage {
  constructor(private readonly s: TheirStorage) {}
  get size(): number {
    return this.s.size();
  }
  timestampAt(i: number): number {
    return this.s.getItem(i).timestamp;
  }
  idAt(i: number): Uint8Array {
    return this.s.getItem(i).id;
  }
  idsBetween(begin: number, end: number): Uint8Array {
    const out = new Uint8Array((end - begin) * 32);
    for (let i = begin; i < end; i++) out.set(this.idAt(i), (i - begin) * 32);
    return out;
  }
  findLowerBound(begin: number, end: number, bound: Bound): number {
    const timestamp = bound.timestamp === MAX_U64 ? Number.MAX_VALUE : Number(bound.timestamp);
    return this.s.findLowerBound(begin, end, { timestamp, id: bound.id });
  }
  fingerprint(begin: number, end: number): Uint8Array {
    return this.s.fingerprint(begin, end);
  }
}

/** Does a message carry an IdList range? */
function hasIdList(message: Uint8Array): boolean {
  const r = new Reader(message);
  r.byte();
  const dec = new BoundDecoder();
  while (r.remaining > 0) {
    dec.bound(r);
    const mode = r.varint();
    if (mode === Mode.IdList) return true;
    if (mode === Mode.Fingerprint) r.bytes(FINGERPRINT_SIZE);
  }
  return false;
}

const SCENARIOS: [string, Scenario][] = [
  ['empty vs empty', scenario(1, 0, 0, 0, 'uniform')],
  ['tiny', scenario(2, 10, 3, 4, 'uniform')],
  ['0-29 vs 10-39 style', scenario(3, 20, 10, 10, 'equal')],
  ['clustered 3,000 + 300/300', scenario(4, 3000, 300, 300, 'clustered')],
  ['equal timestamps 2,000 + 500/0', scenario(5, 2000, 500, 0, 'equal')],
  ['uniform 10,000 + 400/400', scenario(6, 10_000, 400, 400, 'uniform')],
  ['client only 5,000', scenario(7, 0, 5000, 0, 'uniform')],
  ['server only 5,000', scenario(8, 0, 0, 5000, 'uniform')],
];

describe('nostr-tools initiator against our responder', () => {
  for (const [name, s] of SCENARIOS) {
    for (const [clientLimit, serverLimit] of [
      [60_000, 0],
      [60_000, 500_000],
      [4096, 4096],
    ] as const) {
      it(`${name} (${clientLimit} / ${serverLimit})`, () => {
        const theirs = new Negentropy(theirStorage(s.client), clientLimit);
        const responder = new Responder(seal(s.server), { frameSizeLimit: serverLimit });
        const have = new Set<string>();
        const need = new Set<string>();
        let msg: string | null = theirs.initiate();
        let rounds = 0;
        while (msg !== null) {
          assert.ok(++rounds < 5000, 'no convergence');
          const reply = toHex(responder.reconcile(fromHex(msg)));
          msg = theirs.reconcile(
            reply,
            (id) => have.add(id),
            (id) => need.add(id),
          );
        }
        assertSameSet(have, s.have, 'have');
        assertSameSet(need, s.need, 'need');
      });
    }
  }
});

describe('our initiator in lockstep with nostr-tools (byte-identical messages)', () => {
  for (const [name, s] of SCENARIOS) {
    for (const [clientLimit, serverLimit] of [
      [60_000, 0],
      [4096, 4096],
      [4096, 500_000],
    ] as const) {
      it(`${name} (${clientLimit} / ${serverLimit})`, () => {
        const theirs = new Negentropy(theirStorage(s.client), clientLimit);
        const ours = new Initiator(seal(s.client), { frameSizeLimit: clientLimit });
        const responder = new Responder(seal(s.server), { frameSizeLimit: serverLimit });
        let theirMsg: string | null = theirs.initiate();
        let ourMsg: Uint8Array | undefined = ours.initiate();
        const theirHave = new Set<string>();
        const theirNeed = new Set<string>();
        let rounds = 0;
        while (ourMsg !== undefined) {
          assert.equal(theirMsg, toHex(ourMsg), `round ${rounds}`);
          assert.ok(++rounds < 5000, 'no convergence');
          const reply = responder.reconcile(ourMsg);
          theirMsg = theirs.reconcile(
            toHex(reply),
            (id) => theirHave.add(id),
            (id) => theirNeed.add(id),
          );
          ourMsg = ours.reconcile(reply).next;
        }
        assert.equal(theirMsg, null);
        assertSameSet(new Set(ours.allHave), theirHave, 'have');
        assertSameSet(new Set(ours.allNeed), theirNeed, 'need');
        assertSameSet(theirHave, s.have, 'have');
        assertSameSet(theirNeed, s.need, 'need');
      });
    }
  }
});

describe('nostr-tools in the responder seat', () => {
  for (const [name, s] of SCENARIOS) {
    it(`${name}: byte-identical replies to every message without IdLists`, () => {
      const serverItems = theirStorage(s.server);
      const theirs = new Negentropy(serverItems, 500_000);
      const responder = new Responder(seal(s.server), { frameSizeLimit: 500_000 });
      const ours = new Initiator(seal(s.client), { frameSizeLimit: 60_000 });
      let msg: Uint8Array | undefined = ours.initiate();
      let compared = 0;
      while (msg !== undefined) {
        const reply = responder.reconcile(msg);
        if (!hasIdList(msg)) {
          assert.equal(theirs.reconcile(toHex(msg)) ?? '61', toHex(reply));
          compared++;
        }
        msg = ours.reconcile(reply).next;
      }
      if (s.client.length >= 32) assert.ok(compared >= 1, 'some replies were compared');
    });
  }
});

describe('our initiator against our reconciler over nostr-tools storage', () => {
  for (const [name, s] of SCENARIOS) {
    it(`${name}`, () => {
      for (const [clientLimit, serverLimit] of [
        [0, 0],
        [60_000, 500_000],
        [4096, 4096],
      ] as const) {
        const ini = new Initiator(seal(s.client), { frameSizeLimit: clientLimit });
        const responder = new Responder(new TheirStorageAdapter(theirStorage(s.server)), {
          frameSizeLimit: serverLimit,
        });
        const reference = new Responder(seal(s.server), { frameSizeLimit: serverLimit });
        let msg: Uint8Array | undefined = ini.initiate();
        while (msg !== undefined) {
          const reply = responder.reconcile(msg);
          assert.equal(toHex(reply), toHex(reference.reconcile(msg)), 'same reply from either storage');
          msg = ini.reconcile(reply).next;
        }
        assertSameSet(new Set(ini.allHave), s.have, 'have');
        assertSameSet(new Set(ini.allNeed), s.need, 'need');
      }
    });
  }
});

describe('duplicates the reference reports, which we de-duplicate', () => {
  it('under small frames nostr-tools may report an id twice; ours never does', () => {
    const s = scenario(258, 226, 154, 398, 'uniform'); // found by search: truncation re-reports here
    const theirs = new Negentropy(theirStorage(s.client), 4096);
    const ours = new Initiator(seal(s.client), { frameSizeLimit: 4096 });
    const responder = new Responder(seal(s.server), { frameSizeLimit: 4096 });
    let theirReports = 0;
    let ourReports = 0;
    let msg: Uint8Array | undefined = ours.initiate();
    theirs.initiate();
    while (msg !== undefined) {
      const reply = responder.reconcile(msg);
      theirs.reconcile(
        toHex(reply),
        () => theirReports++,
        () => theirReports++,
      );
      const r = ours.reconcile(reply);
      ourReports += r.have.length + r.need.length;
      msg = r.next;
    }
    assert.equal(ourReports, 154 + 398);
    assert.ok(theirReports > ourReports, `nostr-tools reported ${theirReports}`);
  });
});
