/**
 * Cluster replication's configuration (the relay in process, or orly-sync-cluster):
 *
 *   ORLY_CLUSTER_ADMINS                        (ORLY_ADMINS)  who may publish the membership (kind 39108)
 *   ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS   true           members list and read the restricted kinds
 *                                                             (ORLY_AUTH_RESTRICTED_KINDS: DMs, gift wraps)
 *   ORLY_CLUSTER_POLL_INTERVAL                 30s            the serial poll of every member
 *   ORLY_CLUSTER_LIVE                          true           a live subscription to each member
 *   ORLY_RELAY_URL                                            this relay's own URL (recognised as self)
 *
 *   ORLY_CLUSTER_ENABLED                       (true when ORLY_CLUSTER_ADMINS is set)
 *
 * Cluster replication runs when enabled and it has admins (without any, no membership counts).
 */
import { parsePubkeyList } from '../../acl/pubkeys.js';
import { boolVar, durationVar, type Env, readVar } from '../../config/env.js';

export interface ClusterConfig {
  readonly enabled: boolean;
  readonly admins: readonly string[];
  readonly propagatePrivileged: boolean;
  readonly intervalMs: number;
  readonly live: boolean;
  readonly relayUrl: string | undefined;
}

export function loadClusterConfig(env: Env): ClusterConfig {
  const own = readVar(env, 'ORLY_CLUSTER_ADMINS');
  return {
    enabled: boolVar(env, 'ORLY_CLUSTER_ENABLED', own !== undefined && own.trim() !== ''),
    admins:
      own !== undefined && own.trim() !== ''
        ? parsePubkeyList(own, 'ORLY_CLUSTER_ADMINS')
        : parsePubkeyList(env.ORLY_ADMINS, 'ORLY_ADMINS'),
    propagatePrivileged: boolVar(env, 'ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS', true),
    intervalMs: durationVar(env, 'ORLY_CLUSTER_POLL_INTERVAL', 30_000, 1000, 86_400_000),
    live: boolVar(env, 'ORLY_CLUSTER_LIVE', true),
    relayUrl: readVar(env, 'ORLY_RELAY_URL')?.trim() || undefined,
  };
}
