/**
 * Relays in split mode for the split tests of the replication services
 * (sync/distributed/split.test.ts, sync/cluster/split.test.ts): each node a relay on a port
 * chosen before it starts (sync-nodes.ts), with its own orly-db and orly-acl (in this process,
 * real gRPC with SPLIT_TOKEN) and its own sync service (in this process, over a GrpcEventStore of
 * that orly-db and orly-acl's access control, as the service's main builds it; restarted on the
 * same port), the relay forwarding to the service (ORLY_SYNC_TYPE=grpc). No node has
 * ORLY_RELAY_SECRET_KEY: each service creates the identity in its orly-db and the relay reads
 * the same one.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { GrpcAccessControl } from '../../src/acl/grpc-access-control.js';
import { createLogger } from '../../src/logger.js';
import type { Relay } from '../../src/relay/relay.js';
import type { ReplicationServerOptions } from '../../src/services/shared/replication-server.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { PeerDirectory } from '../../src/sync/identity/peer-directory.js';
import { SPLIT_TOKEN, type SplitServices, startSplitServices } from './relay-harness.js';
import { makeRelayNode, type RelayNode, relayNodeEnv, startNodeRelay } from './sync-nodes.js';

const logger = createLogger('silent');
const security = { token: SPLIT_TOKEN };

interface Service {
  readonly port: number;
  readonly address: string;
  stop(): Promise<void>;
}

export interface SplitNode<S extends Service> extends RelayNode {
  readonly name: string;
  split?: SplitServices;
  service?: S;
  servicePort?: number;
}

/** The options of a service's server for a node, as its main gives them. */
type SplitServiceOptions = Required<
  Pick<
    ReplicationServerOptions,
    'listen' | 'store' | 'ownsStore' | 'access' | 'logger' | 'security' | 'env' | 'directory'
  >
>;

/** A node and its orly-db and orly-acl (`aclEnv`: their ORLY_ACL_* settings). */
export async function makeSplitNode<S extends Service>(
  name: string,
  dirPrefix: string,
  aclEnv: Record<string, string> = {},
): Promise<SplitNode<S>> {
  const node: SplitNode<S> = { name, ...(await makeRelayNode(`${dirPrefix}-${name}-`)) };
  node.split = await startSplitServices(aclEnv, node.dir, logger);
  return node;
}

/** (Re)starts the node's service, on the port it had before. */
export async function startSplitService<S extends Service>(
  node: SplitNode<S>,
  start: (options: SplitServiceOptions) => Promise<S>,
): Promise<S> {
  const split = node.split!;
  const store = await GrpcEventStore.connect(split.dbAddress, { security, logger });
  const access = await GrpcAccessControl.connect(split.acl.address, { security, logger });
  const service = await start({
    listen: `127.0.0.1:${node.servicePort ?? 0}`,
    store,
    ownsStore: true,
    access,
    logger,
    security,
    env: {},
    directory: new PeerDirectory({ retryMs: 200, timeoutMs: 2000 }),
  });
  node.service = service;
  node.servicePort = service.port;
  return service;
}

/** Starts the node's relay in split mode, its service's address in `serviceVariable`. */
export function startSplitRelay(node: SplitNode<Service>, serviceVariable: string): Promise<Relay> {
  return startNodeRelay(node, {
    ...relayNodeEnv(node),
    ...node.split!.relayEnv,
    ORLY_SYNC_TYPE: 'grpc',
    [serviceVariable]: node.service!.address,
  });
}

/** The relay's replication serving `path` (its gRPC client). */
export function forwardingReplication<R>(node: SplitNode<Service>, path: string): R {
  const service = node.relay!.replication.serviceFor(path);
  assert.ok(service, `${node.name} forwards ${path}`);
  return service as R;
}

export async function stopSplitNodes(nodes: readonly (SplitNode<Service> | undefined)[]): Promise<void> {
  for (const node of nodes) {
    if (node === undefined) continue;
    await node.relay?.stop();
    await node.service?.stop();
    await node.split?.stop();
    rmSync(node.dir, { recursive: true, force: true });
  }
}
