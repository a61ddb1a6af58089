/**
 * Helpers for the negentropy tests: a seeded PRNG, random item sets (uniform, clustered,
 * equal timestamps, past 2038), split into client/server views with a known symmetric
 * difference, and a driver that runs our initiator against our responder to completion.
 */
import assert from 'node:assert/strict';
import { Initiator, Responder } from '../../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../../src/negentropy/codec/storage.js';
import { seededRandom } from '../../helpers/events.js';

export interface Item {
  timestamp: number;
  id: string;
}

export type TimestampShape = 'uniform' | 'clustered' | 'equal' | 'post2038' | 'huge';

export function randomId(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 8; i++)
    s += Math.floor(rand() * 4294967296)
      .toString(16)
      .padStart(8, '0');
  return s;
}

export function randomTimestamp(rand: () => number, shape: TimestampShape): number {
  switch (shape) {
    case 'uniform':
      return 1_600_000_000 + Math.floor(rand() * 100_000_000);
    case 'clustered':
      // A handful of bursts, many events per second inside each.
      return 1_700_000_000 + Math.floor(rand() * 8) * 1_000_000 + Math.floor(rand() * 50);
    case 'equal':
      return 1_700_000_000;
    case 'post2038':
      return 2 ** 31 + Math.floor(rand() * 2 ** 34);
    case 'huge':
      return Number.MAX_SAFE_INTEGER - Math.floor(rand() * 1000);
  }
}

export function randomItems(rand: () => number, n: number, shape: TimestampShape): Item[] {
  const out: Item[] = [];
  for (let i = 0; i < n; i++) out.push({ timestamp: randomTimestamp(rand, shape), id: randomId(rand) });
  return out;
}

export interface Scenario {
  client: Item[];
  server: Item[];
  /** Ids only the client has (expected "have"). */
  have: Set<string>;
  /** Ids only the server has (expected "need"). */
  need: Set<string>;
}

/** `shared` items on both sides plus `onlyClient` / `onlyServer` extra ones. */
export function scenario(
  seed: number,
  shared: number,
  onlyClient: number,
  onlyServer: number,
  shape: TimestampShape,
): Scenario {
  const rand = seededRandom(seed);
  const common = randomItems(rand, shared, shape);
  const c = randomItems(rand, onlyClient, shape);
  const s = randomItems(rand, onlyServer, shape);
  return {
    client: [...common, ...c],
    server: [...common, ...s],
    have: new Set(c.map((x) => x.id)),
    need: new Set(s.map((x) => x.id)),
  };
}

export function seal(items: readonly Item[]): SealedVector {
  return SealedVector.fromUnsorted(items);
}

export interface SyncResult {
  have: Set<string>;
  need: Set<string>;
  rounds: number;
  bytesUp: number;
  bytesDown: number;
  maxUp: number;
  maxDown: number;
}

/** Our initiator against our responder until the initiator is done; checks frame sizes. */
export function runSync(
  client: SealedVector,
  server: SealedVector,
  clientLimit: number,
  serverLimit: number,
  maxRounds = 10_000,
): SyncResult {
  const ini = new Initiator(client, { frameSizeLimit: clientLimit });
  const resp = new Responder(server, { frameSizeLimit: serverLimit });
  const have = new Set<string>();
  const need = new Set<string>();
  let msg: Uint8Array | undefined = ini.initiate();
  let rounds = 0;
  let bytesUp = 0;
  let bytesDown = 0;
  let maxUp = 0;
  let maxDown = 0;
  while (msg !== undefined) {
    if (clientLimit) assert.ok(msg.length <= clientLimit, `client frame ${msg.length} > ${clientLimit}`);
    bytesUp += msg.length;
    maxUp = Math.max(maxUp, msg.length);
    const reply = resp.reconcile(msg);
    if (serverLimit) assert.ok(reply.length <= serverLimit, `server frame ${reply.length} > ${serverLimit}`);
    bytesDown += reply.length;
    maxDown = Math.max(maxDown, reply.length);
    rounds++;
    assert.ok(rounds <= maxRounds, `no convergence after ${maxRounds} rounds`);
    const r = ini.reconcile(reply);
    for (const id of r.have) {
      assert.ok(!have.has(id), 'have reported twice');
      have.add(id);
    }
    for (const id of r.need) {
      assert.ok(!need.has(id), 'need reported twice');
      need.add(id);
    }
    msg = r.next;
  }
  return { have, need, rounds, bytesUp, bytesDown, maxUp, maxDown };
}

export function assertSameSet(
  actual: ReadonlySet<string>,
  expected: ReadonlySet<string>,
  what: string,
): void {
  const missing = [...expected].filter((x) => !actual.has(x));
  const extra = [...actual].filter((x) => !expected.has(x));
  assert.ok(
    missing.length === 0 && extra.length === 0,
    `${what}: ${missing.length} missing (${missing.slice(0, 2)}), ${extra.length} extra (${extra.slice(0, 2)})`,
  );
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
