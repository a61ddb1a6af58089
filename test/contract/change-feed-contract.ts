/**
 * The ChangeFeed contract (watch, broadcast), for stores shared by several writers: the factory
 * gives two stores over ONE database (`store` and `peer`, e.g. two relays' gRPC clients of one
 * orly-db). What one stores or broadcasts reaches the other's watch listeners, never its own.
 *
 * A fresh watch does not replay the past, so each test first waits until the subscription is
 * live: the peer saves probe events until one arrives. Negative checks ("never delivered") are
 * made by ordering: the writer of X then writes Y; once Y has arrived, X would have too.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serializeEvent } from '../../src/protocol/event.js';
import type { ChangeFeed, ClientStore, StoredEvent } from '../../src/store/event-store.js';
import { BASE_TIME, newKey, signedEvent } from '../helpers/events.js';
import { stored } from './contract-kit.js';

export type ChangeFeedStore = ClientStore & ChangeFeed;

export interface ChangeFeedPair {
  readonly store: ChangeFeedStore;
  /** Another writer over the same database. */
  readonly peer: ChangeFeedStore;
  /** Closes both and releases everything the factory made. */
  cleanup(): Promise<void>;
}

export type ChangeFeedFactory = () => Promise<ChangeFeedPair>;

interface Seen {
  readonly events: StoredEvent[];
  has(id: string): boolean;
  stop(): void;
}

const probeKey = newKey();
let probes = 0;

function collect(store: ChangeFeed): Seen {
  const events: StoredEvent[] = [];
  const stop = store.watch((event) => {
    if (event.event.pubkey !== probeKey.pubkey) events.push(event);
  });
  return { events, has: (id) => events.some((s) => s.event.id === id), stop };
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves once `watcher`'s subscription is live: `writer` saves probes until one arrives. */
async function live(watcher: ChangeFeed, writer: ClientStore): Promise<void> {
  let arrived = false;
  const stop = watcher.watch((event) => {
    if (event.event.pubkey === probeKey.pubkey) arrived = true;
  });
  try {
    const end = Date.now() + 10_000;
    for (let i = 0; !arrived; i++) {
      if (Date.now() > end) throw new Error('the watch subscription did not become live');
      stored(
        await writer.save(signedEvent(probeKey, { content: `probe ${++probes}`, created_at: BASE_TIME + i })),
      );
      await until(() => arrived, 'a probe', 200).catch(() => {});
    }
  } finally {
    stop();
  }
}

export function registerChangeFeedContract(name: string, factory: ChangeFeedFactory): void {
  const withPair = (body: (pair: ChangeFeedPair) => Promise<void>) => async () => {
    const pair = await factory();
    try {
      await body(pair);
    } finally {
      await pair.cleanup();
    }
  };

  describe(`ChangeFeed contract: ${name}`, () => {
    test(
      'watch delivers what another writer stored, once each; never the watcher’s own saves',
      withPair(async ({ store, peer }) => {
        const seen = collect(store);
        try {
          await live(store, peer);
          const alice = newKey();
          const own = signedEvent(alice, { content: 'own', created_at: BASE_TIME });
          stored(await store.save(own));
          const theirs = Array.from({ length: 5 }, (_, i) =>
            signedEvent(alice, { content: `theirs ${i}`, created_at: BASE_TIME + 1 + i }),
          );
          const results = (await Promise.all(theirs.map((e) => peer.save(e)))).map(stored);
          stored(await peer.save(theirs[0]!)); // a duplicate is not delivered again
          await until(() => theirs.every((e) => seen.has(e.id)), 'the peer’s events');
          const last = signedEvent(alice, { content: 'last', created_at: BASE_TIME + 10 });
          stored(await peer.save(last));
          await until(() => seen.has(last.id), 'the last event');
          assert.equal(seen.has(own.id), false, 'own saves are not delivered');
          assert.deepEqual(
            seen.events.map((s) => s.event.id).sort(),
            [...theirs, last].map((e) => e.id).sort(),
            'each event once',
          );
          for (const s of seen.events) {
            assert.ok(s.serial > 0);
            assert.equal(s.raw, serializeEvent(s.event));
          }
          const serialOf = new Map(seen.events.map((s) => [s.event.id, s.serial]));
          for (const [i, e] of theirs.entries()) assert.equal(serialOf.get(e.id), results[i]!.serial);
        } finally {
          seen.stop();
        }
      }),
    );

    test(
      'broadcast reaches the other writer’s watch with serial 0, not the sender’s, and is not stored',
      withPair(async ({ store, peer }) => {
        const seenByStore = collect(store);
        const seenByPeer = collect(peer);
        try {
          await live(store, peer);
          await live(peer, store);
          const alice = newKey();
          const ephemeral = signedEvent(alice, { kind: 20001, content: 'now only' });
          await peer.broadcast(ephemeral);
          await until(() => seenByStore.has(ephemeral.id), 'the broadcast');
          const got = seenByStore.events.find((s) => s.event.id === ephemeral.id)!;
          assert.equal(got.serial, 0);
          assert.deepEqual(got.event, ephemeral);
          const marker = signedEvent(alice, { content: 'after the broadcast' });
          stored(await store.save(marker));
          await until(() => seenByPeer.has(marker.id), 'the marker at the peer');
          assert.equal(seenByPeer.has(ephemeral.id), false, 'the sender does not get its broadcast');
          assert.equal(await store.getById(ephemeral.id), undefined);
          assert.equal(await peer.getById(ephemeral.id), undefined);
        } finally {
          seenByStore.stop();
          seenByPeer.stop();
        }
      }),
    );

    test(
      'unsubscribing stops delivery to that listener only',
      withPair(async ({ store, peer }) => {
        const kept = collect(store);
        const dropped = collect(store);
        try {
          await live(store, peer);
          const alice = newKey();
          const first = signedEvent(alice, { content: 'first', created_at: BASE_TIME });
          stored(await peer.save(first));
          await until(() => kept.has(first.id) && dropped.has(first.id), 'both listeners');
          dropped.stop();
          const second = signedEvent(alice, { content: 'second', created_at: BASE_TIME + 1 });
          stored(await peer.save(second));
          await until(() => kept.has(second.id), 'the remaining listener');
          assert.deepEqual(
            dropped.events.map((s) => s.event.id),
            [first.id],
          );
        } finally {
          kept.stop();
          dropped.stop();
        }
      }),
    );
  });
}
