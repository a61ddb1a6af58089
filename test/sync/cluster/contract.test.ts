/**
 * The ClusterReplication contract (contract.ts) against both forms: ClusterSync in this process,
 * and GrpcClusterSync (the relay's client) over a real orly-sync-cluster server on 127.0.0.1
 * port 0 with a token, each over its own in-memory store (../contract-forms.ts).
 */
import { startClusterSyncServer } from '../../../src/services/sync-cluster/server.js';
import type { ClusterConfig } from '../../../src/sync/cluster/cluster-config.js';
import { ClusterSync } from '../../../src/sync/cluster/cluster-sync.js';
import { GrpcClusterSync } from '../../../src/sync/cluster/grpc-cluster-sync.js';
import { inProcess, overGrpc, RELAY_HTTP } from '../contract-forms.js';
import { type ContractContext, clusterContract } from './contract.js';

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

clusterContract('in process (ClusterSync)', (ctx) =>
  inProcess(
    ctx,
    (deps) => new ClusterSync(configFor(ctx), { ...deps, restrictedKinds: new Set(RESTRICTED) }),
  ),
);

clusterContract('over gRPC (GrpcClusterSync → orly-sync-cluster)', (ctx) =>
  overGrpc(
    ctx,
    TOKEN,
    (common) => startClusterSyncServer({ ...common, cluster: configFor(ctx), restrictedKinds: RESTRICTED }),
    (options) => new GrpcClusterSync(options),
  ),
);
