/**
 * Shared by the NIP-77 relay tests in this directory (the directory is what `npm test` runs
 * again with ORLY_TEST_MODE=split-negentropy): keys, real signed events (bcrypto's signer),
 * pipelined publishing, our initiator over a raw websocket, and a relay for a suite with NIP-77
 * enabled holding the data set the sync tests compare against.
 */
import assert from 'node:assert/strict';
import { before } from 'node:test';
import { Initiator } from '../../../src/negentropy/codec/reconcile.js';
import { SealedVector } from '../../../src/negentropy/codec/storage.js';
import { fromHex, toHex } from '../../../src/negentropy/codec/types.js';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { fastSign } from '../../helpers/fast-sign.js';
import { type Clients, type Keys, newKeys, nowSec } from '../../helpers/nostr.js';
import type { Frame, RawClient, TestRelay } from '../../helpers/relay-harness.js';
import { useTestRelay } from '../../helpers/use-test-relay.js';

export const alice = newKeys();
export const bob = newKeys();
const carol = newKeys();
export const writer = newKeys();
export const now = nowSec();

/** Real BIP-340 signatures with bcrypto's native signer (helpers/fast-sign.ts), for thousands of events. */
export function signFast(
  keys: Keys,
  template: { kind?: number; created_at: number; tags?: string[][]; content?: string },
): NostrEvent {
  return fastSign({ sk: Buffer.from(keys.sk), pubkey: keys.pk }, template);
}

/** Publishes events pipelined (up to 500 awaiting OK: the relay allows 1000) and checks every OK. */
export async function publishAll(client: RawClient, events: readonly NostrEvent[]): Promise<void> {
  const WINDOW = 500;
  for (let i = 0; i < events.length + WINDOW; i++) {
    if (i < events.length) client.send(['EVENT', events[i]]);
    const done = events[i - WINDOW];
    if (done === undefined) continue;
    const ok = await client.next((f) => f[0] === 'OK' && f[1] === done.id, 20_000);
    assert.equal(ok[2], true, `${done.id}: ${ok[3]}`);
  }
}

export function negReply(client: RawClient, subId: string, timeoutMs?: number): Promise<Frame> {
  return client.next(
    (f) =>
      (f[0] === 'NEG-MSG' || f[0] === 'NEG-ERR' || f[0] === 'NOTICE') &&
      (f[0] === 'NOTICE' || f[1] === subId),
    timeoutMs,
  );
}

export interface SyncOutcome {
  have: Set<string>;
  need: Set<string>;
  rounds: number;
}

/** Our initiator over a raw websocket: NEG-OPEN, NEG-MSG rounds, NEG-CLOSE. Rejects on NEG-ERR. */
export async function rawSync(
  client: RawClient,
  subId: string,
  filter: unknown,
  items: readonly { timestamp: number; id: string }[],
  frameSizeLimit = 60_000,
): Promise<SyncOutcome> {
  const ini = new Initiator(SealedVector.fromUnsorted(items), { frameSizeLimit });
  client.send(['NEG-OPEN', subId, filter, toHex(ini.initiate())]);
  let rounds = 0;
  for (;;) {
    const f = await negReply(client, subId);
    if (f[0] !== 'NEG-MSG') throw new Error(`${f[0]}: ${f[2] ?? f[1]}`);
    rounds++;
    const r = ini.reconcile(fromHex(f[2]));
    if (r.next === undefined) break;
    client.send(['NEG-MSG', subId, toHex(r.next)]);
  }
  client.send(['NEG-CLOSE', subId]);
  return { have: new Set(ini.allHave), need: new Set(ini.allNeed), rounds };
}

export function itemsOf(events: readonly NostrEvent[]) {
  return events.map((e) => ({ timestamp: e.created_at, id: e.id }));
}

export function idSet(events: readonly NostrEvent[]): Set<string> {
  return new Set(events.map((e) => e.id));
}

export async function nip11(t: TestRelay): Promise<{ supported_nips: number[] }> {
  const res = await fetch(t.httpUrl, { headers: { Accept: 'application/nostr+json', Connection: 'close' } });
  return (await res.json()) as { supported_nips: number[] };
}

/** The relay of a suite and its events, filled in before() once the relay runs. */
export interface Nip77Data {
  readonly t: TestRelay;
  /** Events on the relay and in the client's local set. */
  readonly shared: NostrEvent[];
  readonly relayOnly: NostrEvent[];
  readonly clientOnly: NostrEvent[];
  /** Restricted-kind events: DMs alice -> bob and a gift wrap to bob. */
  readonly restricted: NostrEvent[];
}

/**
 * A relay for the tests of the calling suite (ORLY_NEGENTROPY_ENABLED=true) holding, by
 * `writer`, 2,000 shared and 400 relay-only events (400 more are client-only) with clustered
 * created_at and many equal values, plus the restricted events.
 */
export function useNip77Relay(clients: Clients): Nip77Data {
  const t = useTestRelay(clients, { ORLY_NEGENTROPY_ENABLED: 'true' });
  const data: Nip77Data = { t, shared: [], relayOnly: [], clientOnly: [], restricted: [] };
  const { shared, relayOnly, clientOnly, restricted } = data;
  before(async () => {
    // 2,000 shared, 400 relay-only, 400 client-only; clustered created_at with many equal values.
    for (let i = 0; i < 2800; i++) {
      const created_at = now - 10_000 - Math.floor(i / 7) * 13;
      const ev = signFast(writer, {
        created_at,
        content: `note ${i}`,
        kind: i % 5 === 0 ? 30023 : 1,
        tags: i % 5 === 0 ? [['d', `d${i}`]] : [],
      });
      if (i % 7 === 3) relayOnly.push(ev);
      else if (i % 7 === 5) clientOnly.push(ev);
      else shared.push(ev);
    }
    for (let i = 0; i < 6; i++) {
      restricted.push(
        signFast(alice, { kind: 4, created_at: now - 5000 - i, tags: [['p', bob.pk]], content: `dm ${i}` }),
      );
    }
    restricted.push(
      signFast(carol, { kind: 1059, created_at: now - 4000, tags: [['p', bob.pk]], content: 'wrap' }),
    );
    const c = await clients.raw(t.url);
    await publishAll(c, [...shared, ...relayOnly, ...restricted]);
  });
  return data;
}
