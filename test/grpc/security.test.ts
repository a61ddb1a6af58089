/**
 * Transport security of orly-db with the committed fixtures in test/fixtures/tls (made by
 * scripts/gen-test-certs.sh): TLS (the client verifies the server against the CA; a plaintext
 * client cannot talk to it), mutual TLS (a client without a certificate, or with one from another
 * CA, is rejected), and the bearer token (missing or wrong token: UNAUTHENTICATED; health still
 * answers without it). Every server listens on 127.0.0.1 port 0.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
} from '../../src/gen/grpc/health/v1/health.js';
import type { GrpcSecurity } from '../../src/grpc/security.js';
import { channelCredentials, loadGrpcSecurity } from '../../src/grpc/security.js';
import { DatabaseCallError, GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { type InProcessDb, startInProcessDb } from '../contract/grpc-harness.js';
import { newKey, signedEvent } from '../helpers/events.js';

const FIXTURES = new URL('../../../test/fixtures/tls/', import.meta.url);
const pem = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

const ca = pem('ca.pem');
const serverTls: GrpcSecurity = { cert: pem('server.pem'), key: pem('server.key') };
const clientCert = { cert: pem('client.pem'), key: pem('client.key') };
const TOKEN = 'test-token-0123456789abcdef';

const servers: InProcessDb[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

async function serve(security: GrpcSecurity): Promise<InProcessDb> {
  const db = await startInProcessDb({ security });
  servers.push(db);
  return db;
}

/** Connects, checks a save and a stats call work, closes. */
async function works(address: string, security: GrpcSecurity): Promise<void> {
  const store = await GrpcEventStore.connect(address, { security, connectTimeoutMs: 5000 });
  try {
    const saved = await store.save(signedEvent(newKey(), { content: 'secure' }));
    assert.equal(saved.stored, true, saved.stored ? '' : saved.reason);
    assert.ok((await store.stats()).events >= 1);
    assert.equal(store.isOpen(), true);
  } finally {
    await store.close();
  }
}

async function refused(address: string, security: GrpcSecurity, code?: number): Promise<DatabaseCallError> {
  let failure: DatabaseCallError | undefined;
  try {
    const store = await GrpcEventStore.connect(address, { security, connectTimeoutMs: 600 });
    await store.close();
  } catch (error) {
    failure = error as DatabaseCallError;
  }
  assert.ok(failure instanceof DatabaseCallError, 'the connection is refused');
  if (code !== undefined) assert.equal(failure.status, code, failure.message);
  return failure;
}

function healthCheck(address: string, security: GrpcSecurity): Promise<HealthCheckResponse> {
  const client = new HealthClient(address, channelCredentials(security));
  return new Promise<HealthCheckResponse>((resolve, reject) =>
    client.check({ service: '' }, (e, r) => (e ? reject(e) : resolve(r))),
  ).finally(() => client.close());
}

describe('TLS', () => {
  test('a client verifying the server against the CA works; plaintext and unknown CAs fail', async () => {
    const db = await serve(serverTls);
    await works(db.address, { ca });
    await works(db.address, { ca, serverName: 'localhost' }); // the DNS SAN, dialing 127.0.0.1
    await refused(db.address, {});
    await refused(db.address, { ca: pem('other-ca.pem') });
  });

  test('security from ORLY_GRPC_* files', async () => {
    const path = (name: string) => new URL(name, FIXTURES).pathname;
    const server = loadGrpcSecurity({
      ORLY_GRPC_TLS_CERT: path('server.pem'),
      ORLY_GRPC_TLS_KEY: path('server.key'),
    });
    const db = await serve(server);
    await works(db.address, loadGrpcSecurity({ ORLY_GRPC_TLS_CA: path('ca.pem') }));
  });
});

describe('mutual TLS', () => {
  test('a client certificate signed by the CA is required', async () => {
    const db = await serve({ ...serverTls, ca });
    await works(db.address, { ca, ...clientCert });
    await refused(db.address, { ca });
    await refused(db.address, { ca, cert: pem('other-client.pem'), key: pem('other-client.key') });
  });
});

describe('bearer token', () => {
  test('plaintext: missing or wrong token -> UNAUTHENTICATED; health answers without it', async () => {
    const db = await serve({ token: TOKEN });
    await works(db.address, { token: TOKEN });
    const missing = await refused(db.address, {}, status.UNAUTHENTICATED);
    assert.match(missing.message, /missing or invalid bearer token/);
    await refused(db.address, { token: 'wrong-token-0123456789abcdef' }, status.UNAUTHENTICATED);

    // A client that skipped the connect check: every call is refused, saves resolve stored=false.
    const noToken = await GrpcEventStore.connect(db.address, { connectTimeoutMs: 0 });
    try {
      await assert.rejects(noToken.stats(), (e: DatabaseCallError) => e.status === status.UNAUTHENTICATED);
      const saved = await noToken.save(signedEvent(newKey()));
      assert.equal(saved.stored, false);
      assert.match(saved.stored ? '' : saved.reason, /^error: database unavailable \(UNAUTHENTICATED/);
      await assert.rejects(
        (async () => {
          for await (const _ of noToken.query({})) {
            /* nothing */
          }
        })(),
        (e: DatabaseCallError) => e.status === status.UNAUTHENTICATED,
      );
    } finally {
      await noToken.close();
    }

    const health = await healthCheck(db.address, {});
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
  });

  test('token over mutual TLS (sent as call credentials)', async () => {
    const db = await serve({ ...serverTls, ca, token: TOKEN });
    await works(db.address, { ca, ...clientCert, token: TOKEN });
    await refused(db.address, { ca, ...clientCert }, status.UNAUTHENTICATED);
    const health = await healthCheck(db.address, { ca, ...clientCert });
    assert.equal(health.status, HealthCheckResponse_ServingStatus.SERVING);
  });
});
