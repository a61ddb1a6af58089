/**
 * The push of the configuration in force to orly-sync-distributed. GroupPeerPush against a fake
 * target: transport failures retried with a bounded backoff, a newer list replacing one not yet
 * pushed, a refusal not retried. Then orly-sync-relaygroup against a real orly-sync-distributed
 * (both in this process, real gRPC with a token): a push while the distributed service is not
 * there yet arrives once it is; its own configured peer stays beside the group's relays; a newer
 * configuration re-points it; after a restart of the distributed service the group's relays come
 * back (the periodic re-push); a deletion by the admin falls back to the configuration before.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createLogger } from '../../../src/logger.js';
import {
  type DistributedServer,
  startDistributedSyncServer,
} from '../../../src/services/sync-distributed/server.js';
import { GroupPeerPush } from '../../../src/services/sync-relaygroup/peer-push.js';
import {
  type RelayGroupServer,
  startRelayGroupServer,
} from '../../../src/services/sync-relaygroup/server.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import { newKeys, nowSec, sign } from '../../helpers/nostr.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../../launcher/fake-service.js';

const logger = createLogger('silent');
const TOKEN = 'relaygroup-push-token-0123456789abcd';

function unavailable(): Error {
  return Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: status.UNAVAILABLE });
}

describe('GroupPeerPush', () => {
  it('retries transport failures with a bounded backoff until the push succeeds', async () => {
    const calls: { at: number; relays: readonly string[] }[] = [];
    let failures = 4;
    const push = new GroupPeerPush({
      logger,
      retryInitialMs: 20,
      retryMaxMs: 60,
      target: {
        async setGroupPeers(relays) {
          calls.push({ at: Date.now(), relays });
          if (failures-- > 0) throw unavailable();
          return [...relays];
        },
      },
    });
    try {
      assert.equal(push.pushed, undefined);
      push.set(['wss://a.example']);
      await waitFor(() => push.pushed !== undefined, 5000, 'the push to succeed');
      assert.deepEqual(push.pushed, ['wss://a.example']);
      assert.equal(calls.length, 5);
      const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
      assert.ok(gaps[0]! >= 15 && gaps[1]! >= 35, `doubling: ${gaps}`);
      assert.ok(
        gaps.every((g) => g < 1000),
        `bounded: ${gaps}`,
      );
    } finally {
      await push.stop();
    }
  });

  it('a newer list replaces one not yet pushed, at once; a refusal is not retried', async () => {
    const calls: (readonly string[])[] = [];
    let down = true;
    const push = new GroupPeerPush({
      logger,
      retryInitialMs: 60_000,
      target: {
        async setGroupPeers(relays) {
          calls.push(relays);
          if (down) throw unavailable();
          if (relays.includes('wss://bad.example')) throw new Error('peers: at most 100 peers');
          return [...relays];
        },
      },
    });
    try {
      push.set(['wss://old.example']);
      await waitFor(() => calls.length === 1, 5000, 'the first attempt');
      down = false;
      // The retry waits a minute; a newer list is tried at once, and the older never again.
      push.set(['wss://new.example']);
      await waitFor(() => push.pushed !== undefined, 5000, 'the newer list pushed');
      assert.deepEqual(calls, [['wss://old.example'], ['wss://new.example']]);
      push.set(['wss://bad.example']);
      await waitFor(() => calls.length === 3, 5000, 'the refused push');
      push.resync();
      await waitFor(() => calls.length === 4, 5000, 'a resync pushes the current list again');
      assert.deepEqual(push.pushed, ['wss://new.example'], 'the refused list was never in force');
    } finally {
      await push.stop();
    }
  });
});

describe('orly-sync-relaygroup pushes to orly-sync-distributed', () => {
  const admin = newKeys();
  const store = new MemoryEventStore();
  const STATIC = 'http://127.0.0.1:9';
  let port: number;
  let distributed: DistributedServer | undefined;
  let relayGroup: RelayGroupServer | undefined;
  after(async () => {
    await relayGroup?.stop();
    await distributed?.stop();
  });

  const startDistributed = async () => {
    distributed = await startDistributedSyncServer({
      listen: `127.0.0.1:${port}`,
      store: new MemoryEventStore(),
      sync: { peers: [STATIC], intervalMs: 3_600_000, live: false, relayUrl: undefined },
      logger,
      security: { token: TOKEN },
      env: {},
      verifyWorkers: 0,
    });
  };
  const peersAre = (expected: string[]) =>
    waitFor(
      () => JSON.stringify(distributed!.sync.peers) === JSON.stringify(expected),
      10_000,
      () => `peers ${JSON.stringify(expected)}, have ${JSON.stringify(distributed!.sync.peers)}`,
    );
  const configure = async (relays: string[], createdAt: number) => {
    const event = sign(admin, {
      kind: 39105,
      created_at: createdAt,
      // A `d` of its own each: an addressable event would replace the one before.
      tags: [['d', `g${createdAt}`]],
      content: JSON.stringify({ relays }),
    });
    assert.ok((await store.save(event)).stored);
    return event;
  };

  it('retried until the service is there; configured ∪ group; re-pointed; back after a restart', async () => {
    port = await freePort();
    const now = nowSec();
    await configure(['ws://127.0.0.1:8'], now - 100);
    relayGroup = await startRelayGroupServer({
      listen: '127.0.0.1:0',
      store,
      admins: [admin.pk],
      logger,
      security: { token: TOKEN },
      distributedServer: `127.0.0.1:${port}`,
      resyncMs: 300,
      retryInitialMs: 50,
      retryMaxMs: 200,
    });
    assert.equal(relayGroup.pushed(), undefined, 'nothing listens there yet');
    await startDistributed();
    await peersAre([STATIC, 'http://127.0.0.1:8']);
    // The service records the push when the answer arrives, which may be just after the peers changed.
    await waitFor(
      () => JSON.stringify(relayGroup!.pushed()) === JSON.stringify(['ws://127.0.0.1:8']),
      10_000,
      () => `pushed ${JSON.stringify(relayGroup!.pushed())}`,
    );

    // A newer configuration: the service hears of it (here through the periodic re-read).
    const newer = await configure(['ws://127.0.0.1:7', 'wss://127.0.0.1:6'], now - 50);
    await peersAre([STATIC, 'http://127.0.0.1:7', 'https://127.0.0.1:6']);

    // orly-sync-distributed restarted: its configured peers only, then the group's again.
    await distributed!.stop();
    await startDistributed();
    assert.deepEqual(distributed!.sync.peers, [STATIC]);
    await peersAre([STATIC, 'http://127.0.0.1:7', 'https://127.0.0.1:6']);

    // The admin deletes the configuration in force: the one before it is in force again.
    assert.ok((await store.save(sign(admin, { kind: 5, tags: [['e', newer.id]] }))).stored);
    await peersAre([STATIC, 'http://127.0.0.1:8']);
  });
});
