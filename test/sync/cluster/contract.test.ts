/**
 * The ClusterReplication contract (contract.ts) against both forms: ClusterSync in this process,
 * and GrpcClusterSync (the relay's client) over a real orly-sync-cluster server on 127.0.0.1
 * port 0 with a token, each over its own in-memory store.
 */
import { VerifierPool } from '../../../src/crypto/verifier-pool.js';
import { createLogger } from '../../../src/logger.js';
import { startClusterSyncServer } from '../../../src/services/sync-cluster/server.js';
import type { ClusterConfig } from '../../../src/sync/cluster/cluster-config.js';
import { ClusterSync } from '../../../src/sync/cluster/cluster-sync.js';
import { GrpcClusterSync } from '../../../src/sync/cluster/grpc-cluster-sync.js';
import { PeerDirectory } from '../../../src/sync/identity/peer-directory.js';
import { loadRelayIdentity } from '../../../src/sync/identity/relay-identity.js';
import { SyncIngest } from '../../../src/sync/sync-ingest.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import type { Keys } from '../../helpers/nostr.js';
import { type ContractContext, clusterContract, RELAY_HTTP } from './contract.js';

const logger = createLogger('silent');
const TOKEN = 'cluster-contract-token-0123456789';
const RESTRICTED = [4, 1059];

function configFor(ctx: ContractContext): ClusterConfig {
  return {
    enabled: true,
    admins: [ctx.admin.pk],
    propagatePrivileged: ctx.propagatePrivileged,
    intervalMs: 3_600_000,
    live: false,
    relayUrl: RELAY_HTTP,
  };
}

function secretEnv(self: Keys): Record<string, string> {
  return { ORLY_RELAY_SECRET_KEY: Buffer.from(self.sk).toString('hex') };
}

clusterContract(
  'in process (ClusterSync)',
  () => new MemoryEventStore(),
  async (ctx) => {
    const identity = await loadRelayIdentity(ctx.store, secretEnv(ctx.self));
    const verifier = new VerifierPool({ workers: 0 });
    const sync = new ClusterSync(configFor(ctx), {
      store: ctx.store,
      identity,
      ingest: new SyncIngest({ store: ctx.store, verifier }),
      logger,
      restrictedKinds: new Set(RESTRICTED),
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

clusterContract(
  'over gRPC (GrpcClusterSync → orly-sync-cluster)',
  () => new MemoryEventStore(),
  async (ctx) => {
    const server = await startClusterSyncServer({
      listen: '127.0.0.1:0',
      store: ctx.store,
      cluster: configFor(ctx),
      restrictedKinds: RESTRICTED,
      logger,
      security: { token: TOKEN },
      env: secretEnv(ctx.self),
      verifyWorkers: 0,
      directory: new PeerDirectory({ timeoutMs: 2000 }),
    });
    const client = new GrpcClusterSync({
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
