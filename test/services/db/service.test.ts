/**
 * The orly-db service at its trust boundary and its streaming paths, through raw grpc-js clients
 * and GrpcEventStore: bad events are answered with stored=false and an "invalid: ..." reason
 * field; bad filters fail with INVALID_ARGUMENT; queries stream in batches and stop on cancel;
 * SaveEvents answers many saves by request_id; Import verifies signatures (unless no_verify) and
 * Export writes JSONL oldest first; CheckForDeleted; health Check answers SERVING. The server
 * has a token, so its callers are authenticated (as under the launcher) and signatures are the
 * relay's job; unauthenticated callers are in unauthenticated.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
} from '../../../src/gen/grpc/health/v1/health.js';
import {
  DatabaseServiceClient,
  type EventBatch,
  type ImportResponse,
  type SaveEventResponse,
  type SaveEventResultBatch,
} from '../../../src/gen/orlydb/v1/db.js';
import { serializeEvent } from '../../../src/protocol/event.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { type InProcessDb, sendTestToken, startInProcessDb, TRUSTED } from '../../contract/grpc-harness.js';
import { BASE_TIME, newKey, signedEvent, unsignedEvent } from '../../helpers/events.js';

let db: InProcessDb;
let raw: DatabaseServiceClient;
let store: GrpcEventStore;

before(async () => {
  db = await startInProcessDb({ security: TRUSTED });
  raw = new DatabaseServiceClient(db.address, credentials.createInsecure(), {
    interceptors: [sendTestToken],
  });
  store = await GrpcEventStore.connect(db.address, { security: TRUSTED });
});

after(async () => {
  raw.close();
  await store.close();
  await db.stop();
});

/** Import over the raw client: the chunks in order, no_verify on the first one. */
function importRaw(chunks: readonly string[], options: { verify: boolean }): Promise<ImportResponse> {
  return new Promise((resolve, reject) => {
    const call = raw.import((e, r) => (e ? reject(e) : resolve(r)));
    for (const [i, chunk] of chunks.entries())
      call.write({ data: Buffer.from(chunk), noVerify: i === 0 && !options.verify });
    call.end();
  });
}

/** Export over the raw client: the JSONL bytes. */
function exportRaw(filter: object): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const call = raw.export({ filterJson: JSON.stringify(filter) });
    call.on('data', (chunk: { data: Buffer }) => chunks.push(chunk.data));
    call.on('end', () => resolve(Buffer.concat(chunks)));
    call.on('error', reject);
  });
}

function checkForDeleted(id: string, pubkey: string): Promise<boolean> {
  return new Promise((resolve, reject) =>
    raw.checkForDeleted({ id, pubkey }, (e, r) => (e ? reject(e) : resolve(r.deleted))),
  );
}

function saveRaw(eventJson: string): Promise<SaveEventResponse> {
  return new Promise((resolve, reject) =>
    raw.saveEvent({ eventJson, requestId: 7, origin: 'test' }, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

test('SaveEvent: bad events are answered with stored=false and an invalid: reason (not an error)', async () => {
  const good = signedEvent(newKey(), { content: 'ok' });
  const ok = await saveRaw(JSON.stringify({ ...good, extra: 'dropped' }));
  assert.equal(ok.stored, true);
  assert.equal(ok.requestId, 7);
  assert.equal((await store.getById(good.id))?.raw, serializeEvent(good), 'unknown fields are dropped');
  const cases: [string, RegExp][] = [
    ['not json', /^invalid: event is not valid JSON$/],
    ['[1,2]', /^invalid: event must be a JSON object$/],
    [JSON.stringify({ ...good, id: 'x' }), /^invalid: id must be 64/],
    [JSON.stringify({ ...good, content: 'changed' }), /^invalid: event id does not match/],
    [JSON.stringify({ ...good, kind: -1 }), /^invalid: kind must be/],
  ];
  for (const [json, reason] of cases) {
    const r = await saveRaw(json);
    assert.equal(r.stored, false, json);
    assert.match(r.reason, reason);
  }
  // Signatures are the (authenticated) relay's job: a correct id with a bad signature is stored here.
  const unsigned = unsignedEvent(newKey().pubkey, { content: 'sig not checked here' });
  assert.equal((await saveRaw(JSON.stringify(unsigned))).stored, true);
});

test('bad filters fail with INVALID_ARGUMENT and a clear message', async () => {
  const error = await new Promise<ServiceError>((resolve) => {
    const call = raw.queryEvents({ filterJson: '{"kinds":"x"}', now: 0 }, new Metadata());
    call.on('data', () => {});
    call.on('error', resolve);
  });
  assert.equal(error.code, status.INVALID_ARGUMENT);
  assert.match(error.details, /filter_json: invalid: kinds must be an array/);
  const countError = await new Promise<ServiceError | null>((resolve) =>
    raw.countEvents({ filterJson: ['{', '{}'], now: 0, max: 0, maxScan: 0, excludeKinds: [] }, (e) =>
      resolve(e),
    ),
  );
  assert.equal(countError?.code, status.INVALID_ARGUMENT);
  assert.match(countError?.details ?? '', /filter_json\[0\]: not valid JSON/);
  await assert.rejects(
    (async () => {
      for await (const _ of store.query({ kinds: [70000] })) {
        /* nothing */
      }
    })(),
    (e: Error & { status?: number }) =>
      e.status === status.INVALID_ARGUMENT && /kinds must contain/.test(e.message),
  );
});

test('QueryEvents streams batches of at most 128 events; SaveEvents answers by request_id', async () => {
  const alice = newKey();
  const events = Array.from({ length: 300 }, (_, i) =>
    unsignedEvent(alice.pubkey, { content: `b${i}`, created_at: BASE_TIME + i }),
  );
  // A raw SaveEvents stream with all 300 in flight, answered out of band by request_id.
  const answers = new Map<number, SaveEventResponse>();
  await new Promise<void>((resolve, reject) => {
    const call = raw.saveEvents(new Metadata());
    call.on('data', (batch: SaveEventResultBatch) => {
      for (const r of batch.responses) answers.set(r.requestId, r);
      if (answers.size === events.length) call.end();
    });
    call.on('error', reject);
    call.on('end', resolve);
    // Several saves per message (batches of 50), all in flight at once.
    for (let start = 0; start < events.length; start += 50) {
      call.write({
        requests: events
          .slice(start, start + 50)
          .map((e, i) => ({ eventJson: JSON.stringify(e), requestId: 1000 + start + i, origin: '' })),
      });
    }
  });
  assert.equal(answers.size, events.length);
  for (let i = 0; i < events.length; i++) assert.equal(answers.get(1000 + i)?.stored, true);

  const sizes: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const call = raw.queryEvents(
      { filterJson: JSON.stringify({ authors: [alice.pubkey] }), now: 0 },
      new Metadata(),
    );
    call.on('data', (b: EventBatch) => sizes.push(b.events.length));
    call.on('end', resolve);
    call.on('error', reject);
  });
  assert.equal(
    sizes.reduce((x, y) => x + y, 0),
    events.length,
  );
  assert.ok(sizes.every((n) => n <= 128) && sizes.length >= 3, `batches: ${sizes.join(',')}`);
});

test('Export (oldest first) and Import (signatures checked unless no_verify) round-trip', async () => {
  const bob = newKey();
  const events = Array.from({ length: 5 }, (_, i) =>
    signedEvent(bob, { content: `e${i}`, created_at: BASE_TIME + 10 - i }),
  );
  const forged = unsignedEvent(bob.pubkey, { content: 'forged', created_at: BASE_TIME });
  const lines = [...events.map((e) => JSON.stringify(e)), JSON.stringify(forged), 'garbage', ''];
  const summary = await importRaw([lines.slice(0, 3).join('\n') + '\n', lines.slice(3).join('\n')], {
    verify: true,
  });
  assert.equal(summary.imported, 5);
  assert.equal(summary.invalid, 2);
  assert.equal(summary.problems.length, 2);
  assert.deepEqual([...summary.problems].sort(), [
    'line 6: invalid: signature verification failed',
    'line 7: invalid: line is not valid JSON',
  ]);
  const unverified = await importRaw([`${JSON.stringify(forged)}\n`], { verify: false });
  assert.equal(unverified.imported, 1);

  const exported = (await exportRaw({ authors: [bob.pubkey] })).toString().trim().split('\n');
  const expected = [...events, forged]
    .sort((x, y) => x.created_at - y.created_at || (x.id < y.id ? -1 : 1))
    .map((e) => serializeEvent(e));
  assert.deepEqual(exported, expected);
});

test('CheckForDeleted reports NIP-09 deletions by the author only', async () => {
  const carol = newKey();
  const note = signedEvent(carol, { content: 'to delete' });
  await store.save(note);
  assert.equal(await checkForDeleted(note.id, carol.pubkey), false);
  await store.save(signedEvent(carol, { kind: 5, tags: [['e', note.id]], created_at: BASE_TIME + 1 }));
  assert.equal(await checkForDeleted(note.id, carol.pubkey), true);
  assert.equal(await checkForDeleted(note.id, newKey().pubkey), false);
  await assert.rejects(checkForDeleted('nope', carol.pubkey), /INVALID_ARGUMENT/);
});

test('grpc.health.v1 Check answers SERVING', async () => {
  const health = new HealthClient(db.address, credentials.createInsecure());
  try {
    const response = await new Promise<HealthCheckResponse>((resolve, reject) =>
      health.check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    assert.equal(response.status, HealthCheckResponse_ServingStatus.SERVING);
  } finally {
    health.close();
  }
});

test('saves of one tick are split below the max message size; a larger event is refused locally', async () => {
  const small = { ...TRUSTED, maxMessageBytes: 1024 * 1024 };
  const limited = await startInProcessDb({ security: small });
  const client = await GrpcEventStore.connect(limited.address, { security: small });
  try {
    const alice = newKey();
    // 40 x 100 KB in one tick: 4 MB, four times the server's limit for one message.
    const events = Array.from({ length: 40 }, (_, i) =>
      unsignedEvent(alice.pubkey, { content: `${i}`.padEnd(100_000, 'x'), created_at: BASE_TIME + i }),
    );
    const results = await Promise.all(events.map((e) => client.save(e)));
    assert.deepEqual(
      results.filter((r) => !r.stored),
      [],
    );
    const huge = unsignedEvent(alice.pubkey, { content: 'y'.repeat(1024 * 1024) });
    const refused = await client.save(huge);
    assert.equal(refused.stored, false);
    assert.match(refused.stored ? '' : refused.reason, /^invalid: event is \d+ bytes, the limit is 983040$/);
    assert.equal((await client.stats()).events, 40);
  } finally {
    await client.close();
    await limited.stop();
  }
});
