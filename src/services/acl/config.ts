/**
 * Configuration of the orly-acl service, from the environment. An invalid value throws a
 * ConfigError naming the variable.
 *
 *   ORLY_ACL_LISTEN            127.0.0.1:50052   gRPC listen address (host:port; port 0 = any free port)
 *   ORLY_ACL_MODE              follows           none | follows | managed | curating
 *   ORLY_ACL_DB_TYPE           grpc              only grpc: events are read from orly-db
 *   ORLY_ACL_GRPC_DB_SERVER    127.0.0.1:50051   orly-db address (follows, managed, curating)
 *   ORLY_ACL_LOG_LEVEL         ORLY_LOG_LEVEL, else info
 *   ORLY_ACL_RELOAD_INTERVAL   60                seconds between full follow-list reloads (0 = off)
 *   ORLY_OWNERS, ORLY_ADMINS   (none)            comma-separated hex or npub pubkeys
 *   ORLY_FOLLOWS_THROTTLE*, ORLY_BOOTSTRAP_RELAYS, ORLY_FOLLOW_LIST_FREQUENCY, ORLY_RELAY_URL,
 *   ORLY_RELAY_ADDRESSES   follows mode, as for the relay (src/acl/follows-config.ts)
 * Transport security (both the server and the orly-db client): ORLY_GRPC_TLS_*, ORLY_GRPC_TOKEN
 * (src/grpc/security.ts).
 */

import { type AclMode, parseAclMode } from '../../acl/factory.js';
import { type FollowsSettings, loadFollowsSettings } from '../../acl/follows-config.js';
import { parsePubkeyList } from '../../acl/pubkeys.js';
import type { Env } from '../../config/env.js';
import {
  ConfigError,
  intVar,
  type LogLevel,
  listenVar,
  logLevelVar,
  readVar as read,
} from '../../config/env.js';

export interface AclServiceConfig {
  readonly listen: string;
  readonly mode: AclMode;
  readonly dbType: 'grpc';
  readonly dbServer: string;
  readonly logLevel: LogLevel;
  readonly owners: readonly string[];
  readonly admins: readonly string[];
  readonly reloadIntervalMs: number;
  /** follows mode: throttle and refresh from relays. */
  readonly follows: FollowsSettings;
}

export function loadAclServiceConfig(env: Env = process.env): AclServiceConfig {
  const dbType = (read(env, 'ORLY_ACL_DB_TYPE') ?? 'grpc').toLowerCase();
  if (dbType !== 'grpc') {
    throw new ConfigError(
      'ORLY_ACL_DB_TYPE',
      `only "grpc" is supported (orly-acl reads events from orly-db at ORLY_ACL_GRPC_DB_SERVER), got ${JSON.stringify(dbType)}`,
    );
  }
  return {
    listen: listenVar(env, 'ORLY_ACL_LISTEN', '127.0.0.1:50052'),
    mode: parseAclMode(read(env, 'ORLY_ACL_MODE') ?? 'follows', 'ORLY_ACL_MODE'),
    dbType: 'grpc',
    dbServer: listenVar(env, 'ORLY_ACL_GRPC_DB_SERVER', '127.0.0.1:50051'),
    logLevel: logLevelVar(env, ['ORLY_ACL_LOG_LEVEL', 'ORLY_LOG_LEVEL']),
    owners: parsePubkeyList(env.ORLY_OWNERS, 'ORLY_OWNERS'),
    admins: parsePubkeyList(env.ORLY_ADMINS, 'ORLY_ADMINS'),
    reloadIntervalMs: intVar(env, 'ORLY_ACL_RELOAD_INTERVAL', 60, 0, 86_400) * 1000,
    follows: loadFollowsSettings(env),
  };
}
