/**
 * The real orly-sync-distributed binary as a child process: configuration errors exit 2 naming
 * the variable; over a real orly-db (and orly-acl when given, ORLY_GRPC_ACL_SERVER) it serves
 * health and Ready, signs as the relay identity kept in orly-db (created there on first start,
 * the same on the next), says at start when replicated events have no orly-acl to pass, and
 * exits 0 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SyncInfo } from '../../../src/gen/orlysync/common/v1/common.js';
import { DistributedSyncServiceClient } from '../../../src/gen/orlysync/distributed/v1/distributed.js';
import { createLogger } from '../../../src/logger.js';
import { GrpcEventStore } from '../../../src/store/grpc/grpc-event-store.js';
import { loadRelayIdentity } from '../../../src/sync/identity/relay-identity.js';
import { SPLIT_TOKEN } from '../../helpers/relay-harness.js';
import { health, serviceBinary, splitServicesForSuite, warningLine } from '../../helpers/service-binary.js';

const CLI = fileURLToPath(new URL('../../../src/cli/orly-sync-distributed.js', import.meta.url));
const logger = createLogger('silent');
const binary = serviceBinary(CLI, 'orly-sync-distributed', 'ORLY_SYNC_DISTRIBUTED');

const getInfo = (port: number) => binary.call<SyncInfo>(DistributedSyncServiceClient, port, 'getInfo');

describe('orly-sync-distributed: the binary', () => {
  const split = splitServicesForSuite('orly-sync-dist-bin-', logger);

  it('configuration errors exit 2 naming the variable', async () => {
    await binary.assertConfigErrors([
      ['ORLY_SYNC_DISTRIBUTED_DB_TYPE', 'badger'],
      ['ORLY_SYNC_DISTRIBUTED_PEERS', 'gopher://old.example'],
      ['ORLY_SYNC_DISTRIBUTED_INTERVAL', 'sometimes'],
      ['ORLY_GRPC_ACL_SERVER', 'no-port'],
    ]);
  });

  it('with orly-acl: health, Ready, the identity kept in orly-db, SIGTERM exits 0', async () => {
    const running = await binary.start({
      ORLY_SYNC_DISTRIBUTED_LISTEN: '127.0.0.1:0',
      ORLY_SYNC_DISTRIBUTED_DB_SERVER: split().dbAddress,
      ORLY_GRPC_ACL_SERVER: split().acl.address,
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
      ORLY_RELAY_URL: 'wss://relay.example',
      ORLY_RELAY_SECRET_KEY: '',
    });
    let info: SyncInfo;
    try {
      assert.equal(await health(running.port), 1); // SERVING
      info = await getInfo(running.port);
    } finally {
      assert.equal(await running.stop(), 0, running.output());
    }
    assert.equal(info.relayUrl, 'wss://relay.example');
    assert.equal(info.status, 'running');
    const store = await GrpcEventStore.connect(split().dbAddress, {
      security: { token: SPLIT_TOKEN },
      logger,
    });
    try {
      assert.equal((await loadRelayIdentity(store, {})).pubkey, info.nodeId, 'the identity is in orly-db');
    } finally {
      await store.close();
    }
    assert.doesNotMatch(running.output(), /no ORLY_GRPC_ACL_SERVER/);
    assert.match(running.output(), /"msg":"orly-sync-distributed stopped"/);
  });

  it('without orly-acl: the same identity, and a warning that only signatures and the store decide', async () => {
    const running = await binary.start({
      ORLY_SYNC_DISTRIBUTED_LISTEN: '127.0.0.1:0',
      ORLY_SYNC_DISTRIBUTED_DB_SERVER: split().dbAddress,
      ORLY_GRPC_ACL_SERVER: '',
      ORLY_GRPC_TOKEN: SPLIT_TOKEN,
      ORLY_RELAY_SECRET_KEY: '',
    });
    try {
      const store = await GrpcEventStore.connect(split().dbAddress, {
        security: { token: SPLIT_TOKEN },
        logger,
      });
      try {
        assert.equal((await getInfo(running.port)).nodeId, (await loadRelayIdentity(store, {})).pubkey);
      } finally {
        await store.close();
      }
    } finally {
      assert.equal(await running.stop(), 0, running.output());
    }
    const warning = warningLine(running.output(), 'no ORLY_GRPC_ACL_SERVER');
    assert.match(warning, /signatures and the store's rules only/);
  });
});
