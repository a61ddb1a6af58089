/**
 * A call without the token is refused from its metadata, before its request is read: a TCP
 * proxy between client and orly-db counts the bytes the client manages to upload. A 40 MB
 * request (over the 16 MiB limit) is answered UNAUTHENTICATED, not RESOURCE_EXHAUSTED (the
 * message decoder never saw its length prefix), and less than 1 MB crosses the proxy: the
 * stream stays paused (HTTP/2 flow control stops the sender) and is reset after the answer.
 * With the token the same request reaches the decoder and is refused for its size.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { after, before, test } from 'node:test';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { DatabaseServiceClient, type SaveEventResultBatch } from '../../src/gen/orlydb/v1/db.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { type InProcessDb, startInProcessDb, TEST_TOKEN, TRUSTED } from '../contract/grpc-harness.js';

let db: InProcessDb;
let proxy: Server;
/** Bytes each proxied connection uploaded, resolved when it closes. */
let connections: Promise<number>[] = [];

before(async () => {
  db = await startInProcessDb({ security: TRUSTED });
  proxy = createServer((downstream) => {
    const upstream = tcpConnect(db.server.port, '127.0.0.1');
    let uploaded = 0;
    downstream.on('data', (chunk: Buffer) => {
      uploaded += chunk.length;
      upstream.write(chunk);
    });
    upstream.pipe(downstream);
    for (const socket of [downstream, upstream]) socket.on('error', () => undefined);
    connections.push(new Promise((resolve) => downstream.on('close', () => resolve(uploaded))));
    downstream.on('close', () => upstream.destroy());
    upstream.on('close', () => downstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  proxy.close();
  await db.stop();
});

/**
 * Runs `call` with a fresh client through the proxy, closes the client, and returns the
 * call's outcome with the bytes the client uploaded (counted once its connection closed).
 */
async function throughProxy<T>(call: (client: DatabaseServiceClient) => Promise<T>): Promise<[T, number]> {
  connections = [];
  const { port } = proxy.address() as { port: number };
  // No client-side send limit: the server's limit is what is tested.
  const client = new DatabaseServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  });
  let outcome: T;
  try {
    outcome = await call(client);
  } finally {
    client.close();
  }
  const bytes = await Promise.all(connections);
  return [outcome, bytes.reduce((a, b) => a + b, 0)];
}

function metadata(token: boolean): Metadata {
  const md = new Metadata();
  if (token) md.set('authorization', `Bearer ${TEST_TOKEN}`);
  return md;
}

function saveHuge(client: DatabaseServiceClient, megabytes: number, token: boolean): Promise<ServiceError> {
  const eventJson = 'x'.repeat(megabytes * 1024 * 1024);
  return new Promise((resolve, reject) =>
    client.saveEvent({ eventJson, requestId: 1, origin: '' }, metadata(token), (error) =>
      error ? resolve(error) : reject(new Error('the call succeeded')),
    ),
  );
}

test('a 40 MB request without the token: UNAUTHENTICATED, less than 1 MB uploaded', async () => {
  const [error, sent] = await throughProxy((client) => saveHuge(client, 40, false));
  assert.equal(error.code, status.UNAUTHENTICATED, error.details);
  assert.match(error.details, /missing or invalid bearer token/);
  assert.ok(sent < 1024 * 1024, `${sent} bytes crossed the proxy`);
});

test('a streaming call without the token is refused the same way; nothing is stored', async () => {
  const [error, sent] = await throughProxy(
    (client) =>
      new Promise<ServiceError>((resolve, reject) => {
        const call = client.saveEvents(metadata(false));
        call.on('data', (_: SaveEventResultBatch) => reject(new Error('answered')));
        call.on('error', resolve);
        call.write({ requests: [{ eventJson: 'y'.repeat(8 * 1024 * 1024), requestId: 1, origin: '' }] });
        call.end();
      }),
  );
  assert.equal(error.code, status.UNAUTHENTICATED);
  assert.ok(sent < 1024 * 1024, `${sent} bytes crossed the proxy`);
  const store = await GrpcEventStore.connect(db.address, { security: TRUSTED });
  try {
    assert.equal((await store.stats()).events, 0, 'no handler ran');
  } finally {
    await store.close();
  }
});

test('with the token, the same 40 MB request reaches the decoder: RESOURCE_EXHAUSTED at 16 MiB', async () => {
  const [error] = await throughProxy((client) => saveHuge(client, 40, true));
  assert.equal(error.code, status.RESOURCE_EXHAUSTED, error.details);
  assert.match(error.details, /larger than max \(\d+ vs 16777216\)/);
});
