/**
 * orly-db's state calls (GetState, PutState, ListState) at the trust boundary, through raw
 * grpc-js clients that skip GrpcEventStore's own checks: bad arguments fail with
 * INVALID_ARGUMENT naming the field and change nothing; an absent value deletes; a ListState
 * of large values is cut below the message size with `more` set; a put too large for one message
 * is refused by the client; every state call needs the token. (Unauthenticated callers' PutState is refused in unauthenticated.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, type ServiceError, status } from '@grpc/grpc-js';
import {
  DatabaseServiceClient,
  type ListStateRequest,
  type ListStateResponse,
  type StateEntry,
} from '../../../src/gen/orlydb/v1/db.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { type InProcessDb, sendTestToken, startInProcessDb, TRUSTED } from '../../contract/grpc-harness.js';

let db: InProcessDb;
let raw: DatabaseServiceClient;
let anonymous: DatabaseServiceClient;
let store: GrpcEventStore;

before(async () => {
  db = await startInProcessDb({ security: TRUSTED });
  raw = new DatabaseServiceClient(db.address, credentials.createInsecure(), {
    interceptors: [sendTestToken],
  });
  anonymous = new DatabaseServiceClient(db.address, credentials.createInsecure());
  store = await GrpcEventStore.connect(db.address, { security: TRUSTED });
});

after(async () => {
  raw.close();
  anonymous.close();
  await store.close();
  await db.stop();
});

type Call<Req, Res> = (
  request: Req,
  callback: (error: ServiceError | null, response: Res) => void,
) => unknown;

function call<Req, Res>(client: DatabaseServiceClient, method: string, request: Req): Promise<Res> {
  const invoke = (client as unknown as Record<string, Call<Req, Res>>)[method]!.bind(client);
  return new Promise((resolve, reject) =>
    invoke(request, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

const putState = (entries: StateEntry[]) =>
  call<{ entries: StateEntry[] }, object>(raw, 'putState', { entries });
const listState = (request: ListStateRequest) =>
  call<ListStateRequest, ListStateResponse>(raw, 'listState', request);

function invalid(field: RegExp): (error: ServiceError) => boolean {
  return (error) => error.code === status.INVALID_ARGUMENT && field.test(error.details);
}

describe('orly-db state calls', () => {
  test('bad arguments: INVALID_ARGUMENT naming the field, nothing changed', async () => {
    await putState([{ key: 'kept', value: 'before' }]);
    await assert.rejects(call(raw, 'getState', { key: '' }), invalid(/^key is empty$/));
    await assert.rejects(call(raw, 'getState', { key: 'k'.repeat(513) }), invalid(/^key is 513 bytes/));
    await assert.rejects(
      putState([
        { key: 'kept', value: 'after' },
        { key: 'k'.repeat(513), value: 'x' },
      ]),
      invalid(/^entries\[1\]\.key is 513 bytes, more than 512$/),
    );
    await assert.rejects(
      putState([{ key: 'big', value: 'v'.repeat(64 * 1024 + 1) }]),
      invalid(/^entries\[0\]\.value is 65537 bytes, more than 65536$/),
    );
    await assert.rejects(putState([{ key: '' }]), invalid(/^entries\[0\]\.key is empty$/));
    for (const limit of [0, 10_001, 0xffff_ffff])
      await assert.rejects(
        listState({ prefix: '', limit }),
        invalid(/^limit is \d+, not an integer from 1 to 10000$/),
      );
    await assert.rejects(listState({ prefix: 'p'.repeat(513), limit: 1 }), invalid(/^prefix is 513 bytes/));
    await assert.rejects(
      listState({ prefix: '', limit: 1, after: 'a'.repeat(513) }),
      invalid(/^after is 513 bytes/),
    );
    assert.equal(await store.getState('kept'), 'before');
    assert.equal(await store.getState('big'), undefined);
  });

  test('an absent value deletes; an empty one is a value', async () => {
    await putState([
      { key: 'd:gone', value: 'x' },
      { key: 'd:empty', value: '' },
    ]);
    await putState([{ key: 'd:gone' }]);
    const get = (key: string) => call<{ key: string }, { value?: string }>(raw, 'getState', { key });
    assert.equal((await get('d:gone')).value, undefined);
    assert.equal((await get('d:empty')).value, '');
    assert.deepEqual(await listState({ prefix: 'd:', limit: 10 }), {
      entries: [{ key: 'd:empty', value: '' }],
      more: false,
    });
  });

  test('ListState of large values stops below the message size with more; the client pages through', async () => {
    const value = 'v'.repeat(60 * 1024);
    const keys = Array.from({ length: 30 }, (_, i) => `big:${String(i).padStart(2, '0')}`);
    await putState(keys.map((key) => ({ key, value })));
    const first = await listState({ prefix: 'big:', limit: 30 });
    assert.equal(first.more, true);
    assert.ok(first.entries.length > 1 && first.entries.length < 30, `${first.entries.length} entries`);
    const bytes = first.entries.reduce((n, e) => n + e.key.length + e.value!.length, 0);
    assert.ok(bytes <= 768 * 1024, `${bytes} bytes`);
    const rest = await listState({ prefix: 'big:', limit: 30, after: first.entries.at(-1)!.key });
    assert.equal(rest.entries[0]!.key, keys[first.entries.length]);
    assert.deepEqual(
      (await store.listState('big:', 30)).map(([k]) => k),
      keys,
    );
    // Reaching the limit or the end of the prefix is not `more`.
    assert.deepEqual(await listState({ prefix: 'big:', limit: 2 }).then((r) => [r.entries.length, r.more]), [
      2,
      false,
    ]);
  });

  test('a put larger than one message to orly-db is refused by the client, naming the variable', async () => {
    const small = await GrpcEventStore.connect(db.address, {
      security: { ...TRUSTED, maxMessageBytes: 1024 * 1024 },
    });
    try {
      const entries = Array.from({ length: 20 }, (_, i) => [`huge:${i}`, 'v'.repeat(60 * 1024)] as const);
      await assert.rejects(small.putState(entries), /putState: .*ORLY_GRPC_MAX_MESSAGE_SIZE/);
      await small.putState(entries.slice(0, 10));
      assert.equal((await small.listState('huge:', 100)).length, 10);
    } finally {
      await small.close();
    }
  });

  test('every state call needs the token', async () => {
    await store.putState([['secret', 'value']]);
    for (const [method, request] of [
      ['getState', { key: 'secret' }],
      ['putState', { entries: [{ key: 'secret', value: 'changed' }] }],
      ['listState', { prefix: '', limit: 10 }],
    ] as const) {
      await assert.rejects(
        call(anonymous, method, request),
        (error: ServiceError) => error.code === status.UNAUTHENTICATED,
        method,
      );
    }
    assert.equal(await store.getState('secret'), 'value');
  });
});
