/**
 * Differential test, for every store implementation: thousands of random events go through both
 * the store under test and the naive in-memory reference (test/helpers/memory-store.ts); save
 * outcomes, then hundreds of random filters (ids / authors / kinds / #t / #e / #p / since / until /
 * limit), counts, negentropy items, purges, admin removals and eventsSince must agree exactly,
 * including order (serials themselves too where the store numbers 1, 2, 3… like the reference).
 * Registered by test/store/lmdb/differential.test.ts and test/store/postgres/differential.test.ts.
 *
 * The random events have correct ids but placeholder signatures: the store never verifies
 * signatures (the relay does, before calling save), and signing thousands of events would
 * dominate the run time. A smaller contract test with real signed events checks that both
 * stores agree on save outcomes too. Set ORLY_DIFF_SEED to replay a failing seed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NostrEvent } from '../../src/protocol/event.js';
import type { NormalizedFilter } from '../../src/protocol/filter.js';
import type { EventStore, SaveResult } from '../../src/store/event-store.js';
import { BASE_TIME, hexOf, newKey, seededRandom, signedEvent, unsignedEvent } from '../helpers/events.js';
import { MemoryEventStore } from '../helpers/memory-store.js';

/** A store implementation under the differential test. */
export interface DifferentialSubject {
  /** A fresh, empty store; `reopen` closes it and opens the same data again. */
  open(): Promise<{ store: EventStore; reopen(): Promise<EventStore>; cleanup(): Promise<void> }>;
  /**
   * true: the saves of a chunk may run concurrently, the store applies them in call order (LMDB's
   * write queue); false: they are saved one at a time (a pool of connections would reorder them).
   */
  readonly orderedConcurrentSaves: boolean;
  /** true: serials are 1, 2, 3… like the reference's and compared as such; false: only their order. */
  readonly denseSerials: boolean;
}

const SEED = Number(process.env.ORLY_DIFF_SEED ?? 0x5eed);
const EVENT_COUNT = 3000;
const FILTER_COUNT = 400;
/** The "current time" for expiration during the test. */
const NOW = BASE_TIME + 150;

type Rand = () => number;

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

function some<T>(rand: Rand, items: readonly T[], max: number): T[] {
  const n = 1 + Math.floor(rand() * max);
  const out = new Set<T>();
  for (let i = 0; i < n; i++) out.add(pick(rand, items));
  return [...out];
}

const TOPICS = ['nostr', 'bitcoin', 'news', '', 'Nostr', hexOf(99, 1)];
const D_VALUES = ['', 'a', 'b', 'with:colon'];
const KINDS = [1, 1, 1, 1, 7, 7, 6, 0, 3, 10002, 10002, 30023, 30023, 30000, 5, 5, 1984, 40];

function generate(rand: Rand): NostrEvent[] {
  const authors = Array.from({ length: 6 }, (_, i) => hexOf(i + 1));
  const events: NostrEvent[] = [];
  for (let i = 0; i < EVENT_COUNT; i++) {
    if (events.length > 10 && rand() < 0.04) {
      events.push(pick(rand, events)); // re-send: a duplicate, or a deleted / outdated event
      continue;
    }
    const pubkey = pick(rand, authors);
    const kind = pick(rand, KINDS);
    // Clustered timestamps: about ten events share each second.
    const created_at = BASE_TIME + Math.floor(rand() * rand() * 300);
    const tags: string[][] = [];
    if (kind === 5) {
      for (let n = 1 + Math.floor(rand() * 3); n > 0 && events.length > 0; n--) {
        const target = rand() < 0.8 ? pick(rand, events) : undefined;
        if (target && rand() < 0.7) {
          tags.push(['e', target.id]);
        } else if (target && target.kind >= 30000) {
          const d = target.tags.find((t) => t[0] === 'd')?.[1] ?? '';
          tags.push(['a', `${target.kind}:${rand() < 0.8 ? target.pubkey : pubkey}:${d}`]);
        } else if (target && (target.kind === 0 || target.kind === 10002)) {
          tags.push(['a', `${target.kind}:${target.pubkey}:`]);
        } else {
          tags.push(['e', hexOf(Math.floor(rand() * 1000), 7)]);
        }
      }
    } else {
      if (kind >= 30000 && rand() < 0.85) tags.push(rand() < 0.1 ? ['d'] : ['d', pick(rand, D_VALUES)]);
      if (rand() < 0.5) tags.push(['t', pick(rand, TOPICS)]);
      if (rand() < 0.2) tags.push(['t', pick(rand, TOPICS)]);
      if (rand() < 0.3 && events.length > 0)
        tags.push(['e', pick(rand, events).id, 'wss://r.example', 'reply']);
      if (rand() < 0.3) tags.push(['p', pick(rand, authors)]);
      if (rand() < 0.05) tags.push(['t']);
      if (rand() < 0.05) tags.push(['client', 'x']);
      if (rand() < 0.06) tags.push(['expiration', String(NOW + Math.floor(rand() * 200) - 100)]);
    }
    events.push(unsignedEvent(pubkey, { kind, created_at, tags, content: `c${i}` }));
  }
  return events;
}

function randomFilter(rand: Rand, events: readonly NostrEvent[]): NormalizedFilter {
  const filter: {
    ids?: string[];
    authors?: string[];
    kinds?: number[];
    tags?: Map<string, string[]>;
    since?: number;
    until?: number;
    limit?: number;
  } = {};
  if (rand() < 0.1) filter.ids = [...some(rand, events, 6).map((e) => e.id), hexOf(5, 5)];
  if (rand() < 0.4) filter.authors = some(rand, [...new Set(events.map((e) => e.pubkey))], 3);
  if (rand() < 0.4) filter.kinds = some(rand, [...new Set(KINDS), 2], 3);
  const tags = new Map<string, string[]>();
  if (rand() < 0.25) tags.set('t', some(rand, TOPICS, 2));
  if (rand() < 0.1)
    tags.set(
      'e',
      some(rand, events, 3).map((e) => e.id),
    );
  if (rand() < 0.15) tags.set('p', some(rand, [...new Set(events.map((e) => e.pubkey))], 2));
  if (rand() < 0.05) tags.set('d', some(rand, D_VALUES, 2));
  if (tags.size > 0) filter.tags = tags;
  if (rand() < 0.3) filter.since = BASE_TIME + Math.floor(rand() * 200);
  if (rand() < 0.3) filter.until = BASE_TIME + Math.floor(rand() * 300);
  if (rand() < 0.6) filter.limit = pick(rand, [0, 1, 2, 3, 10, 50, 200, 500]);
  return filter;
}

/** A save's outcome to compare: removed ids sorted; the serial only where serials are dense. */
function normalize(result: SaveResult, dense: boolean): SaveResult {
  if (!result.stored) return result;
  return { ...result, serial: dense ? result.serial : 0, removed: [...result.removed].sort() };
}

async function queryIds(store: EventStore, filter: NormalizedFilter): Promise<string[]> {
  const out: string[] = [];
  for await (const stored of store.query(filter, { now: NOW })) out.push(stored.event.id);
  return out;
}

async function serials(store: EventStore, dense: boolean): Promise<string[]> {
  const out: string[] = [];
  let previous = 0;
  for await (const stored of store.eventsSince(0, 1_000_000)) {
    assert.ok(stored.serial > previous, 'eventsSince ascends by serial');
    previous = stored.serial;
    out.push(dense ? `${stored.serial}:${stored.event.id}` : stored.event.id);
  }
  return out;
}

function describeFilter(filter: NormalizedFilter): string {
  return JSON.stringify({ ...filter, tags: filter.tags ? Object.fromEntries(filter.tags) : undefined });
}

async function compareQueries(
  subject: EventStore,
  memory: EventStore,
  filters: NormalizedFilter[],
): Promise<void> {
  for (const filter of filters) {
    const [got, want] = await Promise.all([queryIds(subject, filter), queryIds(memory, filter)]);
    assert.deepEqual(got, want, `seed ${SEED}, filter ${describeFilter(filter)}`);
  }
}

/** Registers the differential tests of one store implementation against the reference. */
export function registerDifferentialTests(name: string, subject: DifferentialSubject): void {
  describe(`${name} vs naive memory store`, () => {
    test(`random events and filters agree (seed ${SEED})`, async () => {
      const rand = seededRandom(SEED);
      const events = generate(rand);
      const opened = await subject.open();
      let store = opened.store;
      const memory = new MemoryEventStore();
      try {
        // Save in concurrent chunks where the store keeps call order (many saves share one LMDB transaction).
        let outcomes = { stored: 0, duplicate: 0, rejected: 0, removed: 0 };
        for (let i = 0; i < events.length; i += 64) {
          const chunk = events.slice(i, i + 64);
          const got: SaveResult[] = [];
          if (subject.orderedConcurrentSaves)
            got.push(...(await Promise.all(chunk.map((e) => store.save(e)))));
          else for (const e of chunk) got.push(await store.save(e));
          const want = await Promise.all(chunk.map((e) => memory.save(e)));
          for (let j = 0; j < chunk.length; j++) {
            assert.deepEqual(
              normalize(got[j]!, subject.denseSerials),
              normalize(want[j]!, subject.denseSerials),
              `seed ${SEED}, event #${i + j}`,
            );
            const r = want[j]!;
            if (!r.stored) outcomes.rejected++;
            else if (r.duplicate) outcomes.duplicate++;
            else {
              outcomes.stored++;
              outcomes.removed += r.removed.length;
            }
          }
        }
        // The generator must exercise every path, or the comparison proves little.
        assert.ok(
          outcomes.duplicate > 20 && outcomes.rejected > 20 && outcomes.removed > 50,
          JSON.stringify(outcomes),
        );
        outcomes = { stored: 0, duplicate: 0, rejected: 0, removed: 0 };

        const filters = Array.from({ length: FILTER_COUNT }, () => randomFilter(rand, events));
        filters.push({}, { limit: 10 }, { kinds: [0, 3, 10002] }, { tags: new Map([['t', ['']]]) });
        await compareQueries(store, memory, filters);

        for (let i = 0; i + 1 < filters.length; i += 7) {
          const pair = [filters[i]!, filters[i + 1]!];
          assert.equal(
            (await store.count(pair, { now: NOW })).count,
            (await memory.count(pair, { now: NOW })).count,
            `seed ${SEED}, count ${pair.map(describeFilter).join(' | ')}`,
          );
        }
        for (const filter of filters.slice(0, 60)) {
          const [got, want] = await Promise.all([
            store.negentropyItems(filter, 100_000),
            memory.negentropyItems(filter, 100_000),
          ]);
          assert.deepEqual(got, want, `seed ${SEED}, negentropy ${describeFilter(filter)}`);
        }
        const dense = subject.denseSerials;
        assert.deepEqual(await serials(store, dense), await serials(memory, dense));

        // Purge, admin-remove, then compare again; then reopen and compare once more.
        assert.equal(await store.purgeExpired(NOW), await memory.purgeExpired(NOW));
        const victims = some(rand, events, 40).map((e) => e.id);
        assert.equal(await store.deleteByIds(victims), await memory.deleteByIds(victims));
        await compareQueries(store, memory, filters.slice(0, 150));
        store = await opened.reopen();
        await compareQueries(store, memory, filters.slice(150, 300));
        assert.deepEqual(await serials(store, dense), await serials(memory, dense));
        assert.equal((await store.stats()).events, (await memory.stats()).events);
      } finally {
        await opened.cleanup();
      }
    });

    test('both stores give the same save outcomes for signed events (contract)', async () => {
      const alice = newKey();
      const bob = newKey();
      const note = signedEvent(alice, { content: 'note' });
      const [lowId, highId] = [0, 1]
        .map((n) => signedEvent(alice, { kind: 0, content: `profile ${n}`, created_at: BASE_TIME + 5 }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)) as [NostrEvent, NostrEvent];
      const article = signedEvent(alice, { kind: 30023, tags: [['d', 'x']], created_at: BASE_TIME });
      const scenario: NostrEvent[] = [
        note,
        note,
        signedEvent(alice, { kind: 0, created_at: BASE_TIME }),
        highId,
        lowId,
        highId,
        signedEvent(alice, { kind: 0, created_at: BASE_TIME + 1 }),
        article,
        signedEvent(alice, { kind: 30023, tags: [], created_at: BASE_TIME }),
        signedEvent(alice, { kind: 30023, tags: [['d', '']], created_at: BASE_TIME - 1 }),
        signedEvent(bob, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 }),
        signedEvent(alice, {
          kind: 5,
          tags: [
            ['e', note.id],
            ['a', `30023:${alice.pubkey}:x`],
          ],
          created_at: BASE_TIME + 2,
        }),
        note,
        article,
        signedEvent(alice, { kind: 30023, tags: [['d', 'x']], created_at: BASE_TIME + 3 }),
      ];
      const { store, cleanup } = await subject.open();
      const memory = new MemoryEventStore();
      try {
        for (const [i, event] of scenario.entries()) {
          assert.deepEqual(
            normalize(await store.save(event), subject.denseSerials),
            normalize(await memory.save(event), subject.denseSerials),
            `step ${i}`,
          );
        }
        assert.deepEqual(await queryIds(store, {}), await queryIds(memory, {}));
      } finally {
        await cleanup();
      }
    });
  });
}
