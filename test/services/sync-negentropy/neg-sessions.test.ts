/**
 * orly-sync-negentropy caps the NIP-77 sessions relays route to it (ORLY_SYNC_NEGENTROPY_MAX_SESSIONS,
 * `negMaxSessions`) per relay connection, over real gRPC (127.0.0.1 port 0) and a real LMDB
 * store: HandleNegOpen beyond the cap answers "blocked: too many open negentropy sessions";
 * replacing a subscription does not count, HandleNegClose frees a place, and connection ids are
 * scoped by relay_id (two relays' connection "1" have separate allowances). Then end to end: a
 * relay allowing more sessions than the service, routed to it (ORLY_SYNC_TYPE=grpc), gets the
 * service's refusal as NEG-ERR.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import {
  type HandleNegCloseResponse,
  type HandleNegOpenRequest,
  type HandleNegOpenResponse,
  NegentropyServiceClient,
} from '../../../src/gen/orlysync/negentropy/v1/negentropy.js';
import { createLogger } from '../../../src/logger.js';
import {
  type NegentropyServer,
  startNegentropyServer,
} from '../../../src/services/sync-negentropy/server.js';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { fastKey, fastSign } from '../../helpers/fast-sign.js';
import { type Frame, RawClient, startTestRelay, type TestRelay } from '../../helpers/relay-harness.js';
import { testSyncConfig } from '../../helpers/sync-config.js';

const logger = createLogger('silent');
/** A valid initial message over an empty set. */
const INITIAL = '6100000200';
const LIMIT_2 = 'blocked: too many open negentropy sessions, the limit is 2';

describe('orly-sync-negentropy: routed NIP-77 sessions per connection', () => {
  let dir: string;
  let store: LmdbEventStore;
  let svc: NegentropyServer;
  let client: NegentropyServiceClient;
  const relays: TestRelay[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orly-negsvc-'));
    store = LmdbEventStore.open(dir);
    const key = fastKey();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 10; i++) assert.ok((await store.save(fastSign(key, { created_at: now - i }))).stored);
    svc = await startNegentropyServer({
      listen: '127.0.0.1:0',
      store,
      logger,
      negMaxSessions: 2,
      sync: testSyncConfig(),
    });
    client = new NegentropyServiceClient(svc.address, credentials.createInsecure());
  });

  after(async () => {
    for (const r of relays) await r.stop();
    client?.close();
    await svc?.stop();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function open(
    relayId: string,
    connectionId: string,
    subscriptionId: string,
  ): Promise<HandleNegOpenResponse> {
    const req: HandleNegOpenRequest = {
      relayId,
      connectionId,
      subscriptionId,
      filterJson: '{}',
      message: INITIAL,
      authedPubkeys: [],
      ip: '127.0.0.1',
      restrictedKinds: [],
      maxRecords: 0,
      frameSizeLimit: 0,
      hiddenAuthors: [],
      hiddenKinds: [],
      involvedKinds: [],
      allInvolved: false,
    };
    return new Promise((resolve, reject) =>
      client.handleNegOpen(req, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  function close(
    relayId: string,
    connectionId: string,
    subscriptionId: string,
  ): Promise<HandleNegCloseResponse> {
    return new Promise((resolve, reject) =>
      client.handleNegClose({ relayId, connectionId, subscriptionId }, (err, res) =>
        err ? reject(err) : resolve(res),
      ),
    );
  }

  const accepted = (res: HandleNegOpenResponse): void => {
    assert.equal(res.error, '');
    assert.match(res.message, /^61/);
  };

  it('HandleNegOpen beyond the cap is refused; replacing, closing and other relays are fine', async () => {
    accepted(await open('r1', '1', 'a'));
    accepted(await open('r1', '1', 'b'));
    assert.deepEqual(await open('r1', '1', 'c'), { message: '', error: LIMIT_2, maxRecords: 0 });
    // Replacing an open subscription does not count twice.
    accepted(await open('r1', '1', 'a'));
    // Connection "1" of another relay, and another connection of the same relay, are apart.
    accepted(await open('r2', '1', 'a'));
    accepted(await open('r2', '1', 'b'));
    assert.equal((await open('r2', '1', 'c')).error, LIMIT_2);
    accepted(await open('r1', '2', 'a'));
    // Closing one session frees a place; closing a connection frees all of them.
    assert.deepEqual(await close('r1', '1', 'b'), { closed: 1 });
    accepted(await open('r1', '1', 'c'));
    assert.equal((await open('r1', '1', 'd')).error, LIMIT_2);
    assert.deepEqual(await close('r1', '1', ''), { closed: 2 });
    accepted(await open('r1', '1', 'd'));
    accepted(await open('r1', '1', 'e'));
    for (const [r, c] of [
      ['r1', '1'],
      ['r1', '2'],
      ['r2', '1'],
    ] as const)
      await close(r, c, '');
  });

  it('a relay routed to the service gets its refusal as NEG-ERR', async () => {
    const relay = await startTestRelay({
      ORLY_NEGENTROPY_ENABLED: 'true',
      ORLY_NEGENTROPY_MAX_SESSIONS: '5',
      ORLY_SYNC_TYPE: 'grpc',
      ORLY_GRPC_SYNC_NEGENTROPY: svc.address,
    });
    relays.push(relay);
    const reply = (c: RawClient, id: string): Promise<Frame> =>
      c.next((f) => (f[0] === 'NEG-MSG' || f[0] === 'NEG-ERR') && f[1] === id);
    const c = await RawClient.connect(relay.url);
    const other = await RawClient.connect(relay.url);
    try {
      for (const id of ['a', 'b']) {
        c.send(['NEG-OPEN', id, {}, INITIAL]);
        assert.equal((await reply(c, id))[0], 'NEG-MSG');
      }
      c.send(['NEG-OPEN', 'c', {}, INITIAL]);
      assert.deepEqual(await reply(c, 'c'), ['NEG-ERR', 'c', LIMIT_2]);
      // The relay forgot the refused session; after a NEG-CLOSE the service has room again, at
      // once: the relay's next NEG-OPEN on this connection waits for the routed close.
      c.send(['NEG-CLOSE', 'b']);
      c.send(['NEG-OPEN', 'c', {}, INITIAL]);
      const reopened = await reply(c, 'c');
      assert.equal(reopened[0], 'NEG-MSG');
      other.send(['NEG-OPEN', 'a', {}, INITIAL]);
      assert.equal((await reply(other, 'a'))[0], 'NEG-MSG');
    } finally {
      await c.close();
      await other.close();
    }
  });
});
