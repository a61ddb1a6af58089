/**
 * orly-db with UNAUTHENTICATED callers (loopback, no token, no mutual TLS): defence in depth.
 * Every event it receives must carry a valid signature (SaveEvent, SaveEvents, Import even with
 * no_verify, Broadcast), refused with `invalid:` reasons otherwise; DeleteEvent, PurgeExpired and
 * PutState are refused with PERMISSION_DENIED (from the call's metadata, before the request is
 * read); GetState and ListState stay open.
 * With mutual TLS (and no token) callers are authenticated: signatures are the relay's job again.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { credentials, type ServiceError, status } from '@grpc/grpc-js';
import { Reasons } from '../../../src/errors.js';
import { DatabaseServiceClient, type ImportResponse } from '../../../src/gen/orlydb/v1/db.js';
import type { GrpcSecurity } from '../../../src/grpc/security.js';
import { type DatabaseCallError, GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { type InProcessDb, startInProcessDb } from '../../contract/grpc-harness.js';
import { BASE_TIME, newKey, signedEvent, unsignedEvent } from '../../helpers/events.js';

let db: InProcessDb;
let raw: DatabaseServiceClient;
let store: GrpcEventStore;

before(async () => {
  db = await startInProcessDb();
  raw = new DatabaseServiceClient(db.address, credentials.createInsecure());
  store = await GrpcEventStore.connect(db.address);
});

after(async () => {
  raw.close();
  await store.close();
  await db.stop();
});

function importRaw(lines: readonly string[]): Promise<ImportResponse> {
  return new Promise((resolve, reject) => {
    const call = raw.import((e, r) => (e ? reject(e) : resolve(r)));
    call.write({ data: Buffer.from(`${lines.join('\n')}\n`), noVerify: true });
    call.end();
  });
}

describe('orly-db without authentication', () => {
  test('SaveEvent and SaveEvents verify signatures: forged events get invalid:', async () => {
    const alice = newKey();
    const good = signedEvent(alice, { content: 'signed' });
    const forged = unsignedEvent(alice.pubkey, { content: 'placeholder signature' });
    // A real signature, of another event.
    const other = signedEvent(alice, { content: 'other' });
    const borrowed = { ...forged, sig: other.sig };

    const results = await Promise.all([good, forged, borrowed].map((e) => store.save(e)));
    assert.deepEqual(
      results.map((r) => (r.stored ? 'stored' : r.reason)),
      ['stored', Reasons.badSignature, Reasons.badSignature],
    );
    const unary = await new Promise<{ stored: boolean; reason: string }>((resolve, reject) =>
      raw.saveEvent({ eventJson: JSON.stringify(forged), requestId: 1, origin: '' }, (e, r) =>
        e ? reject(e) : resolve(r),
      ),
    );
    assert.deepEqual([unary.stored, unary.reason], [false, Reasons.badSignature]);
    assert.equal((await store.getById(good.id))?.event.id, good.id);
    assert.equal(await store.getById(forged.id), undefined);
  });

  test('many saves in flight: each is verified, only the signed ones are stored', async () => {
    const bob = newKey();
    const events = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? unsignedEvent(bob.pubkey, { content: `forged ${i}`, created_at: BASE_TIME + i })
        : signedEvent(bob, { content: `signed ${i}`, created_at: BASE_TIME + i }),
    );
    const results = await Promise.all(events.map((e) => store.save(e)));
    for (const [i, result] of results.entries()) {
      if (i % 3 === 0) assert.deepEqual(result, { stored: false, reason: Reasons.badSignature });
      else assert.equal(result.stored, true);
    }
    let count = 0;
    for await (const _ of store.query({ authors: [bob.pubkey] })) count++;
    assert.equal(count, 40);
  });

  test('Import ignores no_verify from an unauthenticated caller', async () => {
    const carol = newKey();
    const signed = signedEvent(carol, { content: 'imported' });
    const forged = unsignedEvent(carol.pubkey, { content: 'forged import' });
    const summary = await importRaw([JSON.stringify(signed), JSON.stringify(forged)]);
    assert.equal(summary.imported, 1);
    assert.deepEqual(summary.problems, [`line 2: ${Reasons.badSignature}`]);
    assert.equal(await store.getById(forged.id), undefined);
  });

  test('Broadcast of a forged ephemeral event is refused', async () => {
    const dave = newKey();
    await store.broadcast(signedEvent(dave, { kind: 20001, content: 'signed ephemeral' }));
    await assert.rejects(
      store.broadcast(unsignedEvent(dave.pubkey, { kind: 20001, content: 'forged ephemeral' })),
      (e: DatabaseCallError) =>
        e.status === status.INVALID_ARGUMENT && e.message.includes(Reasons.badSignature),
    );
  });

  test('DeleteEvent and PurgeExpired: PERMISSION_DENIED, naming the variable', async () => {
    const erin = newKey();
    const note = signedEvent(erin, { content: 'stays' });
    assert.equal((await store.save(note)).stored, true);
    for (const call of [() => store.deleteByIds([note.id]), () => store.purgeExpired(BASE_TIME * 2)]) {
      await assert.rejects(
        call(),
        (e: DatabaseCallError) =>
          e.status === status.PERMISSION_DENIED &&
          /needs an authenticated caller.*ORLY_GRPC_TOKEN/.test(e.message),
      );
    }
    assert.equal((await store.getById(note.id))?.event.id, note.id);
    // Reads stay open.
    const error = await new Promise<ServiceError | null>((resolve) => raw.stats({}, (e) => resolve(e)));
    assert.equal(error, null);
  });

  test('PutState: PERMISSION_DENIED; GetState and ListState stay open', async () => {
    await assert.rejects(
      store.putState([['acl:ban:x', 'by an unauthenticated caller']]),
      (e: DatabaseCallError) =>
        e.status === status.PERMISSION_DENIED &&
        /PutState needs an authenticated caller.*ORLY_GRPC_TOKEN/.test(e.message),
    );
    assert.equal(await store.getState('acl:ban:x'), undefined);
    assert.deepEqual(await store.listState('', 10), []);
  });
});

describe('orly-db with mutual TLS (no token)', () => {
  const fixtures = new URL('../../../../test/fixtures/tls/', import.meta.url);
  const pem = (name: string): Buffer => readFileSync(new URL(name, fixtures));
  const ca = pem('ca.pem');
  let mtls: InProcessDb;
  let client: GrpcEventStore;

  before(async () => {
    mtls = await startInProcessDb({ security: { cert: pem('server.pem'), key: pem('server.key'), ca } });
    const security: GrpcSecurity = { ca, cert: pem('client.pem'), key: pem('client.key') };
    client = await GrpcEventStore.connect(mtls.address, { security, connectTimeoutMs: 5000 });
  });

  after(async () => {
    await client.close();
    await mtls.stop();
  });

  test('callers are authenticated: signatures are the relay job, admin calls are allowed', async () => {
    const frank = newKey();
    const unsigned = unsignedEvent(frank.pubkey, { content: 'trusted caller' });
    assert.equal((await client.save(unsigned)).stored, true);
    assert.equal(await client.deleteByIds([unsigned.id]), 1);
    await client.putState([['acl:ban:y', 'by a trusted caller']]);
    assert.equal(await client.getState('acl:ban:y'), 'by a trusted caller');
  });
});
