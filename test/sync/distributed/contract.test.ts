/**
 * The DistributedReplication contract (contract.ts) against both forms: DistributedSync in this
 * process, and GrpcDistributedSync (the relay's client) over a real orly-sync-distributed server
 * on 127.0.0.1 port 0 with a token, each over its own in-memory store (../contract-forms.ts).
 */
import { startDistributedSyncServer } from '../../../src/services/sync-distributed/server.js';
import type { DistributedSyncConfig } from '../../../src/sync/distributed/config.js';
import { DistributedSync } from '../../../src/sync/distributed/distributed-sync.js';
import { GrpcDistributedSync } from '../../../src/sync/distributed/grpc-distributed-sync.js';
import { inProcess, overGrpc, RELAY_HTTP } from '../contract-forms.js';
import { distributedContract } from './contract.js';

const TOKEN = 'distributed-contract-token-0123456789';

function configFor(peerUrl: string): DistributedSyncConfig {
  return { peers: [peerUrl], intervalMs: 3_600_000, live: false, relayUrl: RELAY_HTTP };
}

distributedContract('in process (DistributedSync)', (ctx) =>
  inProcess(ctx, (deps) => new DistributedSync(configFor(ctx.peerUrl), deps)),
);

distributedContract('over gRPC (GrpcDistributedSync → orly-sync-distributed)', (ctx) =>
  overGrpc(
    ctx,
    TOKEN,
    (common) => startDistributedSyncServer({ ...common, sync: configFor(ctx.peerUrl) }),
    (options) => new GrpcDistributedSync(options),
  ),
);
