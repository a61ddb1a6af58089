/**
 * The PostgreSQL store under concurrency, on a real server (test/helpers/postgres.ts): two store
 * instances (two relays) over one database racing competing replaceable/addressable versions
 * (exactly one winner by NIP-01's rule), deletions against saves (a deleted id never comes back),
 * writers whose transactions commit out of serial order against an eventsSince reader (it never
 * skips one), a save while queries hold every query connection, and two stores migrating one
 * fresh database at once.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import postgres from 'postgres';
import type { NostrEvent } from '../../../src/protocol/event.js';
import { serializeEvent } from '../../../src/protocol/event.js';
import type { SaveResult, StoredEvent } from '../../../src/store/event-store.js';
import { indexedTags } from '../../../src/store/lmdb/index-keys.js';
import { loadPostgresConfig } from '../../../src/store/postgres/config.js';
import { PostgresEventStore } from '../../../src/store/postgres/postgres-store.js';
import { SAVE_SQL, saveParams } from '../../../src/store/postgres/write-path.js';
import { BASE_TIME, hexOf, unsignedEvent } from '../../helpers/events.js';
import { startTestPostgres } from '../../helpers/postgres.js';

const server = await startTestPostgres();
after(() => server.stop());

const open = (url: string) => PostgresEventStore.open(loadPostgresConfig({ ORLY_POSTGRES_URL: url }));

/** Two stores (two relays) over one fresh database. */
async function pair(): Promise<{
  a: PostgresEventStore;
  b: PostgresEventStore;
  url: string;
  close(): Promise<void>;
}> {
  const url = await server.createDatabase();
  const [a, b] = await Promise.all([open(url), open(url)]);
  return { a, b, url, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

function stored(result: SaveResult): Extract<SaveResult, { stored: true }> {
  assert.equal(result.stored, true, result.stored ? '' : result.reason);
  return result as Extract<SaveResult, { stored: true }>;
}

async function ids(
  store: PostgresEventStore,
  filter: Parameters<PostgresEventStore['query']>[0],
): Promise<string[]> {
  const out: string[] = [];
  for await (const s of store.query(filter)) out.push(s.id);
  return out;
}

/** NIP-01: the later created_at wins; equal: the lowest id. */
function winnerOf(versions: readonly NostrEvent[]): NostrEvent {
  return [...versions].sort((x, y) => y.created_at - x.created_at || (x.id < y.id ? -1 : 1))[0]!;
}

describe('PostgreSQL store under concurrency (two relays on one database)', () => {
  test('competing replaceable and addressable versions: exactly one winner, every loser removed once', async () => {
    const { a, b, close } = await pair();
    try {
      for (let round = 0; round < 16; round++) {
        const author = hexOf(1000 + round, 3);
        const kind = round % 2 === 0 ? 10002 : 30023;
        const tags = kind === 30023 ? [['d', `article-${round % 3}`]] : [];
        // Created_at values collide often, so ties (lowest id wins) are raced too.
        const versions = Array.from({ length: 12 }, (_, i) =>
          unsignedEvent(author, { kind, tags, content: `v${round}.${i}`, created_at: BASE_TIME + (i % 4) }),
        );
        const results = await Promise.all(versions.map((e, i) => (i % 2 === 0 ? a : b).save(e)));
        const winner = winnerOf(versions);
        for (const store of [a, b])
          assert.deepEqual(await ids(store, { authors: [author], kinds: [kind] }), [winner.id]);
        const winnerResult = stored(results[versions.indexOf(winner)]!);
        assert.equal(winnerResult.duplicate, false);
        const storedLosers = versions.filter((e, i) => e !== winner && results[i]!.stored).map((e) => e.id);
        const removed = results.flatMap((r) => (r.stored ? r.removed : []));
        assert.deepEqual(
          [...removed].sort(),
          [...storedLosers].sort(),
          'each stored loser removed exactly once',
        );
        for (const [i, r] of results.entries())
          if (!r.stored) assert.match(r.reason, /^blocked: event is older than existing/, `version ${i}`);
      }
    } finally {
      await close();
    }
  });

  test('deletions racing saves: a deleted id never comes back', async () => {
    const { a, b, close } = await pair();
    try {
      for (let round = 0; round < 20; round++) {
        const author = hexOf(2000 + round, 5);
        const note = unsignedEvent(author, { content: `note ${round}` });
        const deletion = unsignedEvent(author, {
          kind: 5,
          tags: [['e', note.id]],
          created_at: BASE_TIME + 1,
        });
        const version = unsignedEvent(author, {
          kind: 30000,
          tags: [['d', 'list']],
          created_at: BASE_TIME + 2,
        });
        const newer = unsignedEvent(author, {
          kind: 30000,
          tags: [['d', 'list']],
          created_at: BASE_TIME + 3,
        });
        const byAddress = unsignedEvent(author, {
          kind: 5,
          tags: [['a', `30000:${author}:list`]],
          created_at: BASE_TIME + 3,
        });
        // Each pair of writes in a different order of arrival on the two stores.
        const first = round % 2 === 0 ? a : b;
        const second = first === a ? b : a;
        await Promise.all([
          first.save(note),
          second.save(deletion),
          first.save(version),
          second.save(byAddress),
          first.save(newer),
          second.save(note),
        ]);
        for (const store of [a, b]) {
          assert.equal(await store.getById(note.id), undefined, `round ${round}: the deleted note`);
          assert.equal(await store.getById(version.id), undefined, `round ${round}: the deleted version`);
          assert.equal(
            await store.getById(newer.id),
            undefined,
            `round ${round}: the version as old as the deletion`,
          );
        }
        assert.deepEqual(await a.save(note), await b.save(note));
        assert.equal((await a.save(note)).stored, false);
        assert.equal((await b.save(version)).stored, false);
        const later = unsignedEvent(author, {
          kind: 30000,
          tags: [['d', 'list']],
          created_at: BASE_TIME + 4,
        });
        stored(await a.save(later));
      }
    } finally {
      await close();
    }
  });

  test('the same event saved by both at once: stored once, the other is its duplicate', async () => {
    const { a, b, close } = await pair();
    try {
      const events = Array.from({ length: 50 }, (_, i) =>
        unsignedEvent(hexOf(3000), { content: `dup ${i}` }),
      );
      const results = await Promise.all(events.flatMap((e) => [a.save(e), b.save(e)]));
      for (let i = 0; i < events.length; i++) {
        const [x, y] = [stored(results[2 * i]!), stored(results[2 * i + 1]!)];
        assert.equal(x.serial, y.serial);
        assert.deepEqual([x.duplicate, y.duplicate].sort(), [false, true]);
      }
      assert.equal((await a.stats()).events, events.length);
    } finally {
      await close();
    }
  });

  test('eventsSince never skips an event that commits after a higher serial was visible', async () => {
    const { a, b, url, close } = await pair();
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      const read = async (after: number): Promise<StoredEvent[]> => {
        const out: StoredEvent[] = [];
        for await (const s of a.eventsSince(after, 1000)) out.push(s);
        return out;
      };
      const author = hexOf(4000);
      const slow = unsignedEvent(author, { content: 'slow' });
      const fast = Array.from({ length: 5 }, (_, i) =>
        unsignedEvent(author, { content: `fast ${i}`, created_at: BASE_TIME + i }),
      );
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let began!: () => void;
      const begun = new Promise<void>((resolve) => {
        began = resolve;
      });
      // A writer whose transaction id (its event's serial) is older than the fast ones', committing last.
      const slowSave = sql.begin(async (tx) => {
        await tx`SELECT pg_current_xact_id()`;
        began();
        await released;
        const params = saveParams(slow, serializeEvent(slow), indexedTags(slow), 1);
        const [row] = await tx.unsafe(SAVE_SQL, params as never[]);
        return Number(row!.out_serial);
      });
      await begun;
      const fastSerials = (await Promise.all(fast.map((e, i) => (i % 2 ? a : b).save(e)))).map(
        (r) => stored(r).serial,
      );
      const seen = await read(0);
      assert.deepEqual(seen, [], 'nothing after the open transaction is returned yet');
      assert.equal(await a.lastSerial(), 0);
      release();
      const slowSerial = await slowSave;
      assert.ok(slowSerial < Math.min(...fastSerials), 'the slow event has the lowest serial');
      const all = await read(0);
      assert.deepEqual(
        all.map((s) => s.serial),
        [slowSerial, ...fastSerials].sort((x, y) => x - y),
      );
      assert.equal(await b.lastSerial(), Math.max(...fastSerials));
    } finally {
      await sql.end({ timeout: 1 });
      await close();
    }
  });

  test('racing writers with transactions of every length: a reader following eventsSince misses none', async () => {
    const { a, b, close } = await pair();
    try {
      const savedSerials = new Set<number>();
      let writing = true;
      const writer = async (store: PostgresEventStore, w: number) => {
        for (let i = 0; i < 60; i++) {
          // Some events carry hundreds of tags: their transactions take longer and commit late.
          const tagCount = i % 5 === 0 ? 400 + ((w * 37 + i) % 600) : i % 3;
          const tags = Array.from({ length: tagCount }, (_, t) => ['t', `w${w}-${i}-${t}`]);
          const event = unsignedEvent(hexOf(5000 + w), {
            content: `w${w} ${i}`,
            tags,
            created_at: BASE_TIME + i,
          });
          savedSerials.add(stored(await store.save(event)).serial);
        }
      };
      const seen: number[] = [];
      const reader = (async () => {
        let cursor = 0;
        const pull = async (): Promise<number> => {
          let n = 0;
          for await (const s of a.eventsSince(cursor, 37)) {
            seen.push(s.serial);
            cursor = s.serial;
            n++;
          }
          return n;
        };
        while (writing) {
          await pull();
          await new Promise((resolve) => setImmediate(resolve));
        }
        // Every writer has committed: what is left comes in one or more last pages.
        while ((await pull()) > 0);
      })();
      await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w % 2 === 0 ? a : b, w)));
      writing = false;
      await reader;
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, 'ascending, no repeats');
      assert.deepEqual(
        [...seen].sort((x, y) => x - y),
        [...savedSerials].sort((x, y) => x - y),
      );
    } finally {
      await close();
    }
  });

  test('the change feed catches up what was committed without an announcement, once', async () => {
    const { a, url, close } = await pair();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const seen: string[] = [];
    const stop = a.watch((s) => seen.push(s.id));
    try {
      // Wait until the watch is live: its first catch-up has set its cursor.
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Stored by a writer that never sends NOTIFY: only the watcher's catch-up can find these.
      const silent = Array.from({ length: 3 }, (_, i) =>
        unsignedEvent(hexOf(7000), { content: `silent ${i}` }),
      );
      for (const event of silent)
        await sql.unsafe(SAVE_SQL, saveParams(event, serializeEvent(event), [], 1) as never[]);
      const deadline = Date.now() + 5000;
      while (seen.length < silent.length && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 1200));
      assert.deepEqual([...seen].sort(), silent.map((e) => e.id).sort());
    } finally {
      stop();
      await sql.end({ timeout: 1 });
      await close();
    }
  });

  test('a save does not wait behind a query holding every query connection', async () => {
    const url = await server.createDatabase();
    const store = await PostgresEventStore.open(
      loadPostgresConfig({ ORLY_POSTGRES_URL: url, ORLY_POSTGRES_POOL_SIZE: '1' }),
    );
    try {
      const author = hexOf(8000);
      const events = Array.from({ length: 1200 }, (_, i) => unsignedEvent(author, { content: `c${i}` }));
      for (let i = 0; i < events.length; i += 200)
        await Promise.all(events.slice(i, i + 200).map((e) => store.save(e)));
      // An unlimited query reads through a cursor: paused after its first row, it keeps its connection.
      const reading = store.query({ authors: [author] })[Symbol.asyncIterator]();
      assert.equal((await reading.next()).done, false);
      const late = unsignedEvent(author, { content: 'while a query holds its connection' });
      const outcome = await Promise.race([
        store.save(late).then((r) => (r.stored ? 'stored' : r.reason)),
        new Promise((resolve) => setTimeout(() => resolve('waited'), 5000)),
      ]);
      assert.equal(outcome, 'stored');
      await reading.return?.();
    } finally {
      await store.close();
    }
  });

  test('two stores migrating one fresh database at once both open it', async () => {
    const url = await server.createDatabase();
    const stores = await Promise.all([open(url), open(url), open(url)]);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`SELECT version FROM schema_migrations ORDER BY version`;
      assert.deepEqual(
        rows.map((r) => r.version),
        [1],
      );
      stored(await stores[0]!.save(unsignedEvent(hexOf(6000))));
      assert.equal((await stores[2]!.stats()).events, 1);
    } finally {
      await sql.end({ timeout: 1 });
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
