/**
 * `orly-acl`: the access-control service of split mode. Serves an ACL mode (none | follows |
 * managed) as orlyacl.v1.ACLService (plus grpc.health.v1) to the relays; in follows mode it reads
 * the owners' and admins' follow lists from orly-db and follows its change feed; in managed mode
 * it keeps its lists in orly-db's state (StateStore), loads them at start and answers the
 * relays' NIP-86 calls (Manage), reading NIP-56 reports from the change feed.
 *
 *   ORLY_ACL_LISTEN           127.0.0.1:50052   gRPC listen address (port 0 = any free port)
 *   ORLY_ACL_MODE             follows           none | follows | managed | curating
 *   ORLY_ACL_DB_TYPE          grpc              only grpc
 *   ORLY_ACL_GRPC_DB_SERVER   127.0.0.1:50051   orly-db address (follows, managed, curating)
 *   ORLY_ACL_LOG_LEVEL        ORLY_LOG_LEVEL, else info
 *   ORLY_ACL_RELOAD_INTERVAL  60                seconds between full follow-list reloads (0 = off)
 *   ORLY_POLICY_ENABLED, ORLY_POLICY_PATH, ORLY_WRITE_POLICY_PLUGIN, ORLY_WRITE_POLICY_TIMEOUT
 *                             the write policy, run here for the relays (CheckPolicy, GetReadPolicy;
 *                             src/acl/policy/write-policy-config.ts); the policy file needs orly-db
 *   ORLY_OWNERS, ORLY_ADMINS  comma-separated hex or npub pubkeys
 *   ORLY_FOLLOWS_THROTTLE(_INCREMENT, _MAX), ORLY_BOOTSTRAP_RELAYS, ORLY_FOLLOW_LIST_FREQUENCY
 *                             follows mode's throttle and refresh (src/acl/follows-config.ts)
 *   ORLY_GRPC_TLS_CERT/_KEY/_CA/_SERVER_NAME, ORLY_GRPC_TOKEN   transport security, both for
 *                             this server and for its orly-db client (src/grpc/security.ts)
 *
 * Logs JSON lines on stdout (service "orly-acl"); `"msg":"grpc listening"` carries the port. It
 * listens only after the initial load (follow lists, managed lists), so "ready" means "answers correctly".
 * Configuration errors name the variable and exit 2; an unreachable orly-db at start exits 1.
 * SIGTERM/SIGINT: graceful stop, exit 0; a second signal exits 1 at once.
 */
import { createAccessControl } from '../../acl/factory.js';
import { loadWritePolicyConfig, startEventPolicy } from '../../acl/policy/write-policy-config.js';
import { checkServerExposure, loadGrpcSecurity } from '../../grpc/security.js';
import { createLogger } from '../../logger.js';
import type { EventStore } from '../../store/event-store.js';
import { GrpcEventStore } from '../../store/grpc/grpc-event-store.js';
import { VERSION } from '../../version.js';
import { runServiceMain } from '../shared/run-service.js';
import { stopOnSignal } from '../shared/stop-on-signal.js';
import { loadAclServiceConfig } from './config.js';
import { startAclServer } from './server.js';

const USAGE = `orly-acl ${VERSION} — ORLY access-control service (gRPC)

Usage:
  orly-acl                run the service (configured by ORLY_ACL_* / ORLY_* variables)
  orly-acl --version | --help
`;

async function start(): Promise<void> {
  const config = loadAclServiceConfig();
  const security = loadGrpcSecurity();
  // Before anything is opened or dialled: no unauthenticated service beyond loopback.
  checkServerExposure('orly-acl', config.listen, security, 'ORLY_ACL_LISTEN');
  const logger = createLogger(config.logLevel, 'orly-acl');
  logger.info(
    { version: VERSION, mode: config.mode, owners: config.owners.length, admins: config.admins.length },
    'orly-acl starting',
  );

  const policyConfig = loadWritePolicyConfig(process.env);
  let store: EventStore | undefined;
  if (config.mode !== 'none' || policyConfig.policyFile !== undefined) {
    store = await GrpcEventStore.connect(config.dbServer, {
      security,
      logger: logger.child({ component: 'db-client' }),
      connectTimeoutMs: 30_000,
    });
    logger.info({ db: config.dbServer }, 'connected to orly-db');
  }
  const acl = await createAccessControl(config.mode, {
    store,
    owners: config.owners,
    admins: config.admins,
    logger,
    reloadIntervalMs: config.reloadIntervalMs,
    follows: config.follows,
  }).catch(async (err: Error) => {
    await store?.close();
    throw err;
  });
  const policy = await startEventPolicy(policyConfig, logger, { store, owners: config.owners }).catch(
    async (err: Error) => {
      await acl.close();
      await store?.close();
      throw err;
    },
  );
  const server = await startAclServer({
    listen: config.listen,
    acl,
    security,
    logger,
    ...(policy === undefined ? {} : { policy }),
  });

  stopOnSignal(logger, async () => {
    await server.stop();
    await policy?.policy.stop();
    await acl.close();
    await store?.close();
    logger.info('orly-acl stopped');
  });
}

/** Runs orly-acl with the process's arguments and environment until a signal stops it. */
export function main(): void {
  runServiceMain('orly-acl', USAGE, start);
}
