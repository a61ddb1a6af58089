/**
 * runSyncService: the start-up orly-sync-distributed, -cluster and -relaygroup share, inside the
 * skeleton of every service command (./run-service.ts).
 *
 * The configuration and the transport security (ORLY_GRPC_*) are read and, before anything is
 * opened or dialled, an unauthenticated server beyond loopback refused; then the "<name> starting"
 * line and the service's warnings, and for a service that asks orly-acl about replicated events
 * one more when it has none (only signatures and the store's rules apply). orly-db is dialled
 * (waiting up to 30 s), then orly-acl when configured (its access control, and its write policy
 * when it runs one; the store is closed again when that fails); the service's server is started
 * over them and stopped on SIGTERM/SIGINT (./stop-on-signal.ts). An unreachable orly-db or
 * orly-acl at start fails the command (exit 1).
 */
import type { AccessControl } from '../../acl/access-control.js';
import { GrpcAccessControl } from '../../acl/grpc-access-control.js';
import { GrpcWritePolicy } from '../../acl/policy/grpc-write-policy.js';
import type { WritePolicy } from '../../acl/policy/plugin-protocol.js';
import { checkServerExposure, type GrpcSecurity, loadGrpcSecurity } from '../../grpc/security.js';
import { createLogger, type Logger } from '../../logger.js';
import { GrpcEventStore } from '../../store/grpc/grpc-event-store.js';
import { VERSION } from '../../version.js';
import { runServiceMain } from './run-service.js';
import { stopOnSignal } from './stop-on-signal.js';
import type { SyncServiceBaseConfig } from './sync-config.js';

const CONNECT_TIMEOUT_MS = 30_000;

/** orly-acl's parts, as server options (each present only when there is one). */
export interface AclParts {
  readonly access?: AccessControl;
  readonly policy?: WritePolicy;
}

export interface SyncServiceContext<C> {
  readonly config: C;
  readonly store: GrpcEventStore;
  readonly security: GrpcSecurity;
  readonly logger: Logger;
  /** Empty when the service has no orly-acl. */
  readonly acl: AclParts;
}

export interface SyncServiceCommand<C extends SyncServiceBaseConfig> {
  /** "orly-sync-cluster". */
  readonly name: string;
  readonly usage: string;
  /** The variable of the listen address, named when the exposure check refuses it. */
  readonly listenVariable: string;
  load(): C;
  /** The fields of the "starting" line after `version` and `db`. */
  describe(config: C): Record<string, unknown>;
  /** Warnings logged at start, in order. */
  warnings?(config: C, security: GrpcSecurity): readonly string[];
  /**
   * For a service that asks orly-acl about replicated events: its address (undefined when it
   * has none, which is warned about).
   */
  aclServer?(config: C): string | undefined;
  serve(context: SyncServiceContext<C>): Promise<{ stop(): Promise<void> }>;
}

/** orly-acl's access control and write policy (undefined when it runs none). */
async function connectAcl(address: string, security: GrpcSecurity, logger: Logger): Promise<AclParts> {
  const options = { security, logger, connectTimeoutMs: CONNECT_TIMEOUT_MS };
  const access = await GrpcAccessControl.connect(address, options);
  try {
    const policy = await GrpcWritePolicy.connect(address, options);
    return policy === undefined ? { access } : { access, policy };
  } catch (err) {
    await access.close();
    throw err;
  }
}

async function start<C extends SyncServiceBaseConfig>(command: SyncServiceCommand<C>): Promise<void> {
  const { name } = command;
  const config = command.load();
  const security = loadGrpcSecurity();
  // Before anything is opened or dialled: no unauthenticated service beyond loopback.
  checkServerExposure(name, config.listen, security, command.listenVariable);
  const logger = createLogger(config.logLevel, name);
  logger.info({ version: VERSION, db: config.dbServer, ...command.describe(config) }, `${name} starting`);
  for (const warning of command.warnings?.(config, security) ?? []) logger.warn(warning);
  const aclServer = command.aclServer?.(config);
  if (command.aclServer !== undefined && aclServer === undefined)
    logger.warn(
      "no ORLY_GRPC_ACL_SERVER: replicated events are checked for their signatures and the store's rules only (no access control, no write policy)",
    );
  const store = await GrpcEventStore.connect(config.dbServer, {
    security,
    logger: logger.child({ component: 'db-client' }),
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
  let acl: AclParts = {};
  try {
    if (aclServer !== undefined) acl = await connectAcl(aclServer, security, logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  const server = await command.serve({ config, store, security, logger, acl });
  stopOnSignal(logger, () => server.stop());
}

/** Runs the command with the process's arguments and environment until a signal stops it. */
export function runSyncService<C extends SyncServiceBaseConfig>(command: SyncServiceCommand<C>): void {
  runServiceMain(command.name, command.usage, () => start(command));
}
