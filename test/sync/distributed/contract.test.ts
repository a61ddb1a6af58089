/**
 * The DistributedReplication contract (contract.ts) against both forms: DistributedSync in this
 * process, and GrpcDistributedSync (the relay's client) over a real orly-sync-distributed server
 * on 127.0.0.1 port 0 with a token, each over its own in-memory store.
 */
import { VerifierPool } from '../../../src/crypto/verifier-pool.js';
import { createLogger } from '../../../src/logger.js';
import { startDistributedSyncServer } from '../../../src/services/sync-distributed/server.js';
import type { DistributedSyncConfig } from '../../../src/sync/distributed/config.js';
import { DistributedSync } from '../../../src/sync/distributed/distributed-sync.js';
import { GrpcDistributedSync } from '../../../src/sync/distributed/grpc-distributed-sync.js';
import { PeerDirectory } from '../../../src/sync/identity/peer-directory.js';
import { loadRelayIdentity } from '../../../src/sync/identity/relay-identity.js';
import { SyncIngest } from '../../../src/sync/sync-ingest.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import type { Keys } from '../../helpers/nostr.js';
import { distributedContract, RELAY_HTTP } from './contract.js';

const logger = createLogger('silent');
const TOKEN = 'distributed-contract-token-0123456789';

function configFor(peerUrl: string): DistributedSyncConfig {
  return { peers: [peerUrl], intervalMs: 3_600_000, live: false, relayUrl: RELAY_HTTP };
}

function secretEnv(self: Keys): Record<string, string> {
  return { ORLY_RELAY_SECRET_KEY: Buffer.from(self.sk).toString('hex') };
}

distributedContract(
  'in process (DistributedSync)',
  () => new MemoryEventStore(),
  async (ctx) => {
    const identity = await loadRelayIdentity(ctx.store, secretEnv(ctx.self));
    const verifier = new VerifierPool({ workers: 0 });
    const sync = new DistributedSync(configFor(ctx.peerUrl), {
      store: ctx.store,
      identity,
      ingest: new SyncIngest({ store: ctx.store, verifier }),
      logger,
      directory: new PeerDirectory({ timeoutMs: 2000 }),
    });
    await sync.start();
    return {
      replication: sync,
      async close() {
        await sync.stop();
        await verifier.close();
      },
    };
  },
);

distributedContract(
  'over gRPC (GrpcDistributedSync → orly-sync-distributed)',
  () => new MemoryEventStore(),
  async (ctx) => {
    const server = await startDistributedSyncServer({
      listen: '127.0.0.1:0',
      store: ctx.store,
      sync: configFor(ctx.peerUrl),
      logger,
      security: { token: TOKEN },
      env: secretEnv(ctx.self),
      verifyWorkers: 0,
      directory: new PeerDirectory({ timeoutMs: 2000 }),
    });
    const client = new GrpcDistributedSync({
      address: server.address,
      security: { token: TOKEN },
      connectTimeoutMs: 5000,
    });
    await client.start();
    return {
      replication: client,
      async close() {
        await client.stop();
        await server.stop();
      },
    };
  },
);
