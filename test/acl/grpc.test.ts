/**
 * The ACL over gRPC, in-process: startAclServer (orlyacl.v1.ACLService over a follows ACL on a
 * real LmdbEventStore) and its client GrpcAccessControl. Decisions and reasons as fields,
 * access levels, CheckPolicy, Configure, the token guard, and FAIL-CLOSED behaviour while the
 * service is down (fast, "error: access control unavailable"), then recovery.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, Metadata } from '@grpc/grpc-js';
import type { Requester } from '../../src/acl/access-control.js';
import { FOLLOWS_DENIED, FollowsAccessControl } from '../../src/acl/follows-access-control.js';
import { ACL_UNAVAILABLE, GrpcAccessControl } from '../../src/acl/grpc-access-control.js';
import { ACLServiceClient, type CheckAccessResponse } from '../../src/gen/orlyacl/v1/acl.js';
import { createLogger } from '../../src/logger.js';
import { serializeEvent } from '../../src/protocol/event.js';
import { type AclServer, startAclServer } from '../../src/services/acl/server.js';
import { LmdbEventStore } from '../../src/store/lmdb/lmdb-store.js';
import { newKey, signedEvent } from '../helpers/events.js';

const TOKEN = 'test-token-0123456789abcdef';
const security = { token: TOKEN };
const logger = createLogger('silent', 'orly-acl-test');
const anon: Requester = { authed: new Set(), ip: '10.0.0.1' };

const [admin, alice, bob, carol] = [newKey(), newKey(), newKey(), newKey()];
let dir: string;
let store: LmdbEventStore;
let acl: FollowsAccessControl;
let server: AclServer;
let client: GrpcAccessControl;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orly-acl-grpc-'));
  store = LmdbEventStore.open(dir);
  await store.save(signedEvent(admin, { kind: 3, tags: [['p', alice.pubkey]] }));
  await store.save(signedEvent(carol, { kind: 3, tags: [['p', bob.pubkey]] }));
  acl = await FollowsAccessControl.create({ store, owners: [], admins: [admin.pubkey], reloadIntervalMs: 0 });
  server = await startAclServer({ listen: '127.0.0.1:0', acl, security, logger });
  client = await GrpcAccessControl.connect(server.address, { security, deadlineMs: 2000, logger });
});

after(async () => {
  await client.close();
  await server.stop(100);
  await acl.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

type RawUnary = (
  request: object,
  metadata: Metadata,
  callback: (err: Error | null, res: CheckAccessResponse) => void,
) => unknown;

// biome-ignore lint/suspicious/noExplicitAny: CheckAccess and CheckPolicy answer different messages
function rawCall(method: 'checkPolicy' | 'checkAccess', request: object): Promise<any> {
  const raw = new ACLServiceClient(server.address, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  return new Promise<CheckAccessResponse>((resolve, reject) =>
    (raw[method] as unknown as RawUnary).call(raw, request, md, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  ).finally(() => raw.close());
}

describe('orly-acl over gRPC', () => {
  test('mode, decisions and reasons travel as fields', async () => {
    assert.equal(client.mode, 'follows');
    assert.equal(client.management, undefined, 'follows mode has no management API');
    assert.equal(client.hiddenAuthors({ authed: new Set() }), undefined, 'nothing hidden');
    assert.equal(await client.ready(), true);
    assert.equal(await client.checkEvent(signedEvent(alice), anon), undefined);
    assert.equal(await client.checkEvent(signedEvent(admin), anon), undefined);
    assert.equal(await client.checkEvent(signedEvent(bob), anon), FOLLOWS_DENIED);
    assert.equal(await client.accessLevel(admin.pubkey, '10.0.0.1'), 'admin');
    assert.equal(await client.accessLevel(alice.pubkey, '10.0.0.1'), 'write');
    assert.equal(await client.accessLevel(bob.pubkey, '10.0.0.1'), 'read');
    assert.equal(await client.accessLevel(undefined, '10.0.0.1'), 'read');
  });

  test('CheckPolicy without a write policy accepts (access is CheckAccess); unknown action rejected; bad events answered invalid', async () => {
    const requester = { authedPubkeys: [], ip: '10.0.0.1' };
    const bobEvent = serializeEvent(signedEvent(bob));
    const source = { receivedAt: 0, sourceType: '', sourceInfo: '' };
    assert.deepEqual(
      await rawCall('checkPolicy', { action: 'write', eventJson: bobEvent, requester, ...source }),
      {
        action: 'accept',
        msg: '',
      },
    );
    assert.deepEqual(
      await rawCall('checkPolicy', { action: 'read', eventJson: bobEvent, requester, ...source }),
      {
        action: 'accept',
        msg: '',
      },
    );
    assert.deepEqual(
      await rawCall('checkPolicy', { action: 'write', eventJson: '{nope', requester, ...source }),
      {
        action: 'reject',
        msg: 'invalid: event is not valid JSON',
      },
    );
    await assert.rejects(
      rawCall('checkPolicy', { action: 'delete', eventJson: bobEvent, requester, ...source }),
      /unknown action/,
    );
    const tampered = { ...signedEvent(alice), content: 'changed after signing' };
    const res = await rawCall('checkAccess', { eventJson: JSON.stringify(tampered), requester });
    assert.equal(res.allowed, false);
    assert.match(res.reason, /^invalid: event id does not match/);
    const junk = await rawCall('checkAccess', { eventJson: '{nope', requester });
    assert.deepEqual(junk, { allowed: false, reason: 'invalid: event is not valid JSON', delayMs: 0 });
  });

  test('Configure replaces admins over the wire', async () => {
    await client.configure({ admins: [carol.pubkey] });
    assert.equal(await client.checkEvent(signedEvent(bob), anon), undefined);
    assert.equal(await client.checkEvent(signedEvent(alice), anon), FOLLOWS_DENIED);
    await client.configure({ admins: [admin.pubkey] });
    assert.equal(await client.checkEvent(signedEvent(alice), anon), undefined);
    await assert.rejects(client.configure({ admins: ['zz'] }), /invalid pubkey/);
  });

  test('a client without the token is refused at connect', async () => {
    await assert.rejects(
      GrpcAccessControl.connect(server.address, {
        security: { token: 'wrong-token-0123456789' },
        connectTimeoutMs: 2000,
      }),
      /not reachable: .*(token|UNAUTHENTICATED|16)/i,
    );
  });

  test('fails closed, fast, while the service is down; recovers when it is back', async () => {
    const port = server.port;
    await server.stop(100);
    const began = Date.now();
    assert.equal(await client.checkEvent(signedEvent(alice), anon), ACL_UNAVAILABLE);
    assert.equal(await client.checkEvent(signedEvent(admin), anon), ACL_UNAVAILABLE);
    assert.equal(await client.accessLevel(admin.pubkey, ''), 'none');
    assert.equal(await client.ready(), false);
    assert.ok(Date.now() - began < 1500, `fail fast (took ${Date.now() - began} ms)`);

    server = await startAclServer({ listen: `127.0.0.1:${port}`, acl, security, logger });
    const deadline = Date.now() + 10_000;
    let answer = await client.checkEvent(signedEvent(alice), anon);
    while (answer === ACL_UNAVAILABLE && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await client.checkEvent(signedEvent(alice), anon);
    }
    assert.equal(answer, undefined, 'allowed again once orly-acl is back');
    assert.equal(await client.checkEvent(signedEvent(bob), anon), FOLLOWS_DENIED);
  });
});
