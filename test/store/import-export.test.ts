/**
 * `orly import` / `orly export` (src/store/import-events.ts, src/store/export-events.ts): JSONL round trip
 * oldest first, filters, backpressure, every kind of bad line reported and skipped, batching
 * of saves, store failures, over the shared in-memory store (test/helpers/memory-store.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { PassThrough, Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { Reasons } from '../../src/errors.js';
import { computeEventId, type NostrEvent, serializeEvent } from '../../src/protocol/event.js';
import { type NormalizedFilter, parseFilter } from '../../src/protocol/filter.js';
import type { EventStore, SaveResult } from '../../src/store/event-store.js';
import { runExport } from '../../src/store/export-events.js';
import { type ImportOptions, runImport } from '../../src/store/import-events.js';
import { MemoryEventStore } from '../helpers/memory-store.js';

// ---------------------------------------------------------------------------------------------
// The shared in-memory store, instrumented: saves in flight, and chosen saves failing.

class MemoryStore extends MemoryEventStore {
  inFlight = 0;
  maxInFlight = 0;
  /** Makes save() reject (a store failure, not a rejection) for matching events. */
  failOn: ((event: NostrEvent) => boolean) | undefined;

  override async save(event: NostrEvent): Promise<SaveResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.failOn?.(event)) throw new Error('disk full');
      return await super.save(event);
    } finally {
      this.inFlight--;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface BcryptoSchnorr {
  privateKeyGenerate(): Buffer;
  publicKeyCreate(key: Buffer): Buffer;
  sign(msg: Buffer, key: Buffer): Buffer;
}
const schnorr = createRequire(import.meta.url)('bcrypto/lib/schnorr') as BcryptoSchnorr;
const SECRET = schnorr.privateKeyGenerate();
const PUBKEY = schnorr.publicKeyCreate(SECRET).toString('hex');

function sign(template: Partial<Pick<NostrEvent, 'kind' | 'created_at' | 'tags' | 'content'>>): NostrEvent {
  const unsigned = {
    pubkey: PUBKEY,
    created_at: template.created_at ?? 1_700_000_000,
    kind: template.kind ?? 1,
    tags: template.tags ?? [],
    content: template.content ?? '',
  };
  const id = computeEventId(unsigned);
  const sig = schnorr.sign(Buffer.from(id, 'hex'), SECRET).toString('hex');
  return { id, ...unsigned, sig };
}

function filter(value: unknown): NormalizedFilter {
  const parsed = parseFilter(value);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.filter;
}

async function exportToString(
  store: EventStore,
  f?: NormalizedFilter,
): Promise<{ text: string; count: number }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const count = await runExport(store, f, out);
  out.end();
  return { text: Buffer.concat(chunks).toString('utf8'), count };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

async function importText(
  store: EventStore,
  text: string,
  options: Partial<ImportOptions> = {},
): Promise<{ summary: Awaited<ReturnType<typeof runImport>>; log: string[] }> {
  const log: string[] = [];
  const summary = await runImport(store, Readable.from([Buffer.from(text, 'utf8')]), {
    verify: true,
    verifyWorkers: 1,
    log: (line) => log.push(line),
    ...options,
  });
  return { summary, log };
}

/** Events with shuffled timestamps, ties, control characters and unicode. */
function corpus(n: number): NostrEvent[] {
  const events: NostrEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push(
      sign({
        created_at: 1_600_000_000 + ((i * 7919) % Math.max(1, Math.floor(n / 3))),
        kind: i % 5 === 0 ? 7 : 1,
        tags: [['t', `tag${i % 4}`]],
        content: `event ${i} ${randomBytes(4).toString('hex')} \u0001 "q" \\ \n 🤙 日本`,
      }),
    );
  }
  return events;
}

function oldestFirst(a: NostrEvent, b: NostrEvent): number {
  return a.created_at - b.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Export

test('export: every event, oldest first by created_at (ties by id), one raw JSON per line', async () => {
  const store = new MemoryStore();
  const events = corpus(500);
  for (const ev of events) await store.save(ev);
  const { text, count } = await exportToString(store);
  assert.equal(count, 500);
  assert.ok(text.endsWith('\n'));
  const out = lines(text);
  assert.equal(out.length, 500);
  const expected = [...events].sort(oldestFirst);
  assert.deepEqual(
    out,
    expected.map((ev) => serializeEvent(ev)),
  );
  // Timestamps include ties, so the id tie-break was exercised.
  assert.ok(new Set(events.map((e) => e.created_at)).size < events.length);
});

test('export: more events than one eventsSince page', async () => {
  const store = new MemoryStore();
  const events = Array.from({ length: 10_050 }, (_, i) =>
    sign({ created_at: 20_000 - i, content: String(i) }),
  );
  await Promise.all(events.map((ev) => store.save(ev)));
  const { text, count } = await exportToString(store);
  assert.equal(count, 10_050);
  const out = lines(text).map((l) => JSON.parse(l) as NostrEvent);
  assert.equal(out.length, 10_050);
  for (let i = 1; i < out.length; i++) assert.ok(oldestFirst(out[i - 1]!, out[i]!) < 0);
});

test('export: a filter selects events (limit = the newest N), still written oldest first', async () => {
  const store = new MemoryStore();
  const events = corpus(200);
  for (const ev of events) await store.save(ev);
  const reactions = events.filter((e) => e.kind === 7).sort(oldestFirst);

  const all7 = await exportToString(store, filter({ kinds: [7] }));
  assert.equal(all7.count, reactions.length);
  assert.deepEqual(
    lines(all7.text),
    reactions.map((e) => serializeEvent(e)),
  );

  const newest = await exportToString(store, filter({ kinds: [7], limit: 5 }));
  assert.deepEqual(
    lines(newest.text),
    reactions.slice(-5).map((e) => serializeEvent(e)),
  );

  const tagged = await exportToString(store, filter({ '#t': ['tag1'] }));
  assert.equal(tagged.count, events.filter((e) => e.tags[0]![1] === 'tag1').length);

  const nothing = await exportToString(store, filter({ ids: [] }));
  assert.deepEqual(nothing, { text: '', count: 0 });
  const empty = await exportToString(new MemoryStore());
  assert.deepEqual(empty, { text: '', count: 0 });
});

test('export: respects backpressure of a slow writer', async () => {
  const store = new MemoryStore();
  const events = corpus(3000);
  await Promise.all(events.map((ev) => store.save(ev)));
  const received: Buffer[] = [];
  let falseWrites = 0;
  const slow = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      setTimeout(callback, 2);
    },
  });
  const write = slow.write.bind(slow);
  slow.write = ((chunk: string) => {
    const ok = write(chunk);
    if (!ok) falseWrites++;
    return ok;
  }) as typeof slow.write;
  const count = await runExport(store, undefined, slow);
  assert.equal(count, 3000);
  assert.ok(falseWrites > 0, 'the writer signalled backpressure');
  // Every write was awaited: nothing piles up in the writable's buffer.
  assert.ok(slow.writableLength <= 256 * 1024 * 2, `buffered ${slow.writableLength}`);
  await new Promise<void>((resolve) => slow.end(resolve));
  assert.equal(lines(Buffer.concat(received).toString('utf8')).length, 3000);
});

test('export: a failing or destroyed output rejects instead of hanging', async () => {
  const store = new MemoryStore();
  for (const ev of corpus(2000)) await store.save(ev);
  const failing = new Writable({
    highWaterMark: 16,
    write(_chunk, _encoding, callback) {
      callback(new Error('EPIPE'));
    },
  });
  await assert.rejects(runExport(store, undefined, failing), /EPIPE/);

  const destroyed = new PassThrough();
  destroyed.destroy();
  await assert.rejects(runExport(store, undefined, destroyed), /closed/);
});

// ---------------------------------------------------------------------------------------------
// Import

test('import: round trip of an export into an empty store, signatures verified', async () => {
  const source = new MemoryStore();
  const events = corpus(1500);
  for (const ev of events) await source.save(ev);
  const { text } = await exportToString(source);

  const target = new MemoryStore();
  const { summary, log } = await importText(target, text, { batchSize: 100 });
  assert.deepEqual(summary, { lines: 1500, imported: 1500, duplicates: 0, rejected: 0, invalid: 0 });
  assert.equal(log.length, 1, log.join('\n'));
  assert.match(log[0]!, /^import done: 1500 lines, 1500 imported, 0 duplicates, 0 rejected, 0 invalid/);
  assert.equal((await exportToString(target)).text, text);
  assert.ok(target.maxInFlight > 1, 'saves of a batch are issued concurrently');
  assert.ok(target.maxInFlight <= 100, `at most one batch in flight (${target.maxInFlight})`);

  // Importing the same file again: all duplicates.
  const again = await importText(target, text);
  assert.deepEqual(again.summary, { lines: 1500, imported: 0, duplicates: 1500, rejected: 0, invalid: 0 });
});

test('import: bad lines are reported as "line N: reason" and skipped, never aborting', async () => {
  const good = sign({ content: 'good' });
  const other = sign({ content: 'other' });
  const newerProfile = sign({ kind: 0, created_at: 2000, content: '{"name":"new"}' });
  const olderProfile = sign({ kind: 0, created_at: 1000, content: '{"name":"old"}' });
  const deleted = sign({ content: 'deleted by its author' });
  const ephemeral = sign({ kind: 20001, content: 'typing…' });
  const withControls = sign({ content: 'raw \u0001 control' });
  const input = [
    `\uFEFF${JSON.stringify(good)}`, // 1: BOM stripped
    '{"id": "truncated', // 2
    JSON.stringify({ ...other, id: other.id.toUpperCase() }), // 3: bad shape
    JSON.stringify({ ...other, content: 'edited' }), // 4: id mismatch
    JSON.stringify({ ...other, sig: good.sig }), // 5: bad signature
    JSON.stringify(ephemeral), // 6: ephemeral
    '', // 7: blank
    '   ', // 8: blank
    JSON.stringify(good), // 9: duplicate
    JSON.stringify(newerProfile), // 10
    JSON.stringify(olderProfile), // 11: older replaceable
    JSON.stringify(deleted), // 12: tombstoned
    '[1,2,3]', // 13: not an object
    serializeEvent(withControls), // 14: raw U+0001 inside a string (canonical form), accepted
    JSON.stringify({ ...other, extra: 'dropped' }), // 15: CRLF (below), unknown field dropped
  ].join('\n');
  const store = new MemoryStore();
  await store.save(sign({ kind: 5, tags: [['e', deleted.id]] }));
  const { summary, log } = await importText(store, `${input}\r\n`, { batchSize: 4 });
  assert.deepEqual(summary, { lines: 15, imported: 4, duplicates: 1, rejected: 3, invalid: 5 });
  // Signature failures are found when a batch is flushed and store rejections after its commit,
  // so the log is not in line order.
  const lineNo = (l: string): number => Number(/^line (\d+):/.exec(l)![1]);
  const problems = log.filter((l) => l.startsWith('line ')).sort((a, b) => lineNo(a) - lineNo(b));
  assert.deepEqual(problems, [
    'line 2: invalid: line is not valid JSON',
    'line 3: invalid: id must be 64 lowercase hex characters',
    `line 4: ${Reasons.badId}`,
    `line 5: ${Reasons.badSignature}`,
    'line 6: blocked: ephemeral events (kind 20001) are never stored',
    `line 11: ${Reasons.olderReplaceable}`,
    `line 12: ${Reasons.deleted}`,
    'line 13: invalid: event must be a JSON object',
  ]);
  assert.ok(await store.getById(good.id));
  assert.ok(await store.getById(newerProfile.id));
  assert.equal(await store.getById(olderProfile.id), undefined);
  assert.equal((await store.getById(withControls.id))?.event.content, 'raw \u0001 control');
  assert.deepEqual((await store.getById(other.id))?.event, other);
});

test('import: verify false skips signature checks but still checks ids', async () => {
  const ev = sign({ content: 'x' });
  const forged = { ...sign({ content: 'y' }), sig: ev.sig };
  const input = [JSON.stringify(forged), JSON.stringify({ ...ev, content: 'z' })].join('\n');
  const { summary, log } = await importText(new MemoryStore(), input, { verify: false });
  assert.deepEqual(summary, { lines: 2, imported: 1, duplicates: 0, rejected: 0, invalid: 1 });
  assert.deepEqual(log.slice(0, 1), [`line 2: ${Reasons.badId}`]);
});

test('import: progress is reported every progressEvery lines, then a summary', async () => {
  const input = corpus(25)
    .map((e) => JSON.stringify(e))
    .join('\n');
  const { log } = await importText(new MemoryStore(), input, { progressEvery: 10, batchSize: 7 });
  assert.equal(log.length, 3);
  assert.match(log[0]!, /^import progress: 10 lines/);
  assert.match(log[1]!, /^import progress: 20 lines/);
  assert.match(log[2]!, /^import done: 25 lines, 25 imported/);
});

test('import: an empty input imports nothing', async () => {
  const { summary } = await importText(new MemoryStore(), '');
  assert.deepEqual(summary, { lines: 0, imported: 0, duplicates: 0, rejected: 0, invalid: 0 });
});

test('import: a store failure aborts the import with the line number', async () => {
  const events = corpus(50);
  const store = new MemoryStore();
  store.failOn = (e) => e.id === events[30]!.id;
  await assert.rejects(
    importText(store, events.map((e) => JSON.stringify(e)).join('\n'), { batchSize: 10 }),
    /line 31: store failure: disk full/,
  );
});

test('import: a caller-provided verifier is used and not closed', async () => {
  let calls = 0;
  let closed = false;
  const verifier = {
    verify: async () => {
      calls++;
      return calls !== 2; // the second event "fails"
    },
    close: async () => {
      closed = true;
    },
  };
  const input = corpus(3)
    .map((e) => JSON.stringify(e))
    .join('\n');
  const { summary, log } = await importText(new MemoryStore(), input, { verifier });
  assert.deepEqual(summary, { lines: 3, imported: 2, duplicates: 0, rejected: 0, invalid: 1 });
  assert.equal(log[0], `line 2: ${Reasons.badSignature}`);
  assert.equal(calls, 3);
  assert.equal(closed, false);
});

test('import: a verifier that rejects falls back to inline verification', async () => {
  const verifier = {
    verify: async (): Promise<boolean> => {
      throw new Error('worker crashed');
    },
    close: async () => {},
  };
  const good = sign({ content: 'a' });
  const bad = { ...sign({ content: 'b' }), sig: good.sig };
  const { summary } = await importText(new MemoryStore(), `${JSON.stringify(good)}\n${JSON.stringify(bad)}`, {
    verifier,
  });
  assert.deepEqual(summary, { lines: 2, imported: 1, duplicates: 0, rejected: 0, invalid: 1 });
});
