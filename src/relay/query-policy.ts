/**
 * The query executor's policy, from the relay's configuration and the capabilities that restrict
 * readers (the ACL mode's hidden authors, the write policy's read scope).
 */
import type { AccessControl } from '../acl/access-control.js';
import type { WritePolicy } from '../acl/policy/plugin-protocol.js';
import type { RelayConfig } from './config.js';
import type { QueryPolicy } from './query-executor.js';

export function queryPolicyOf(
  config: RelayConfig,
  access: AccessControl,
  writePolicy: WritePolicy | undefined,
): QueryPolicy {
  return {
    restrictedKinds: new Set(config.authRestrictedKinds),
    maxLimit: config.limits.maxLimit,
    defaultLimit: config.limits.defaultLimit,
    maxCount: config.limits.maxCount,
    concurrency: config.queries.concurrency,
    maxQueriesPerConnection: config.queries.maxQueriesPerConnection,
    maxCountScan: config.queries.maxCountScan,
    sliceMs: config.queries.sliceMs,
    ...(access.hiddenAuthors === undefined
      ? {}
      : { hiddenAuthors: (requester) => access.hiddenAuthors?.(requester) }),
    ...(writePolicy?.readScope === undefined
      ? {}
      : { readScope: (requester) => writePolicy.readScope?.(requester) }),
  };
}
