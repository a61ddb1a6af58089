/**
 * orly-sync-negentropy's background loop: a failing peer (closed port) is reported with
 * exponential backoff while the good peer syncs; then the peer-list RPCs, TriggerSync while
 * paused, the session RPCs and routed NIP-77 with its outcomes as fields.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import {
  type GetSyncStatusResponse,
  NegentropyServiceClient,
} from '../../../src/gen/orlysync/negentropy/v1/negentropy.js';
import { startNegentropyServer } from '../../../src/services/sync-negentropy/server.js';
import { testSyncConfig } from '../../helpers/sync-config.js';
import { waitFor } from '../../helpers/wait.js';
import {
  assertSameIds,
  closedPort,
  idsOf,
  logger,
  makeEvents,
  saveAll,
  setOf,
  syncServiceForSuite,
  unary,
} from './service-fixtures.js';

describe('orly-sync-negentropy: background loop and peer RPCs', () => {
  const service = syncServiceForSuite();

  it('background loop: a failing peer backs off and is reported, the good peer syncs', async () => {
    const { db, negRelay, store } = service;
    const remote = makeEvents(60, 1004);
    const good = await negRelay(remote);
    const bad = `ws://127.0.0.1:${await closedPort()}`;
    const loop = await startNegentropyServer({
      listen: '127.0.0.1:0',
      store,
      logger,
      sync: testSyncConfig({
        peers: [bad, good.url],
        filter: { kinds: [1004] },
        timeoutMs: 5000,
        backoffBaseMs: 150,
        autoStart: true,
      }),
    });
    const c = new NegentropyServiceClient(loop.address, credentials.createInsecure());
    try {
      const status = () => unary<object, GetSyncStatusResponse>(c, 'getSyncStatus', {});
      await waitFor(
        async () => {
          const s = await status();
          const g = s.peers.find((p) => p.peerUrl === good.url);
          const b = s.peers.find((p) => p.peerUrl === bad);
          return g?.state === 'ok' && (b?.consecutiveFailures ?? 0) >= 3;
        },
        15_000,
        'good peer synced and bad peer failing 3 times',
      );
      const s = await status();
      assert.equal(s.running, true);
      const g = s.peers.find((p) => p.peerUrl === good.url)!;
      assert.deepEqual([g.lastNeed, g.totalFetched, g.consecutiveFailures, g.lastError], [60, 60, 0, '']);
      assert.ok(g.nextAttemptMs >= g.lastSuccessMs + 59_000);
      const b = s.peers.find((p) => p.peerUrl === bad)!;
      assert.equal(b.state, 'failed');
      assert.match(b.lastError, /cannot connect/);
      // Exponential backoff: the delay after n failures is 150 * 2^(n-1) ms.
      assert.ok(b.nextAttemptMs - b.lastAttemptMs >= 150 * 2 ** (b.consecutiveFailures - 1) - 5);
      assertSameIds(await idsOf(db.store, 1004), setOf(remote));

      // Peer list RPCs.
      const other = 'wss://relay.example.invalid';
      assert.deepEqual(await unary(c, 'stop', {}), { running: false });
      assert.deepEqual(await unary(c, 'addPeer', { peerUrl: other }), { added: true });
      assert.deepEqual(await unary(c, 'addPeer', { peerUrl: other }), { added: false });
      await assert.rejects(unary(c, 'addPeer', { peerUrl: 'ftp://x' }), /ws:\/\//);
      assert.deepEqual(await unary(c, 'getPeers', {}), { peerUrls: [bad, good.url, other] });
      const st = await unary<object, { found: boolean; state: { state: string } }>(c, 'getPeerSyncState', {
        peerUrl: other,
      });
      assert.deepEqual([st.found, st.state.state], [true, 'idle']);
      assert.deepEqual(await unary(c, 'removePeer', { peerUrl: other }), { removed: true });
      assert.deepEqual(await unary(c, 'removePeer', { peerUrl: bad }), { removed: true });
      assert.deepEqual(await unary(c, 'getPeers', {}), { peerUrls: [good.url] });
      await assert.rejects(unary(c, 'triggerSync', { peerUrl: other }), /unknown peer/);
      // TriggerSync works while the loop is paused.
      const more = makeEvents(5, 1004);
      await saveAll(good.relay.store, more);
      assert.deepEqual(await unary(c, 'triggerSync', { peerUrl: '' }), { triggered: 1 });
      await waitFor(async () => (await status()).peers[0]?.totalFetched === 65, 10_000, 'triggered sync');
      assert.deepEqual(await unary(c, 'start', {}), { running: true });
      assert.deepEqual(await unary(c, 'listSessions', {}), { sessions: [] });
      assert.deepEqual(await unary(c, 'closeSession', { sessionId: 'nope' }), { closed: false });
      // Routed NIP-77: outcomes are fields.
      const open = (await unary(c, 'handleNegOpen', {
        relayId: '',
        connectionId: '',
        subscriptionId: '',
        filterJson: '',
        message: '',
        authedPubkeys: [],
        ip: '',
        restrictedKinds: [],
        maxRecords: 0,
        frameSizeLimit: 0,
        hiddenAuthors: [],
        hiddenKinds: [],
        involvedKinds: [],
        allInvolved: false,
      })) as { error: string };
      assert.match(open.error, /^invalid: /);
      const msg = (await unary(c, 'handleNegMsg', {
        relayId: 'r',
        connectionId: '1',
        subscriptionId: 's',
      })) as {
        error: string;
      };
      assert.equal(msg.error, 'closed: unknown subscription handle');
      assert.deepEqual(
        await unary(c, 'handleNegClose', { relayId: 'r', connectionId: '1', subscriptionId: '' }),
        { closed: 0 },
      );
    } finally {
      c.close();
      await loop.stop();
    }
  });
});
