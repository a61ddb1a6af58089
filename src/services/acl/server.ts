/**
 * startAclServer: an orly-acl server in this process (used by the `orly-acl` CLI and tests).
 * Serves an AccessControl as orlyacl.v1.ACLService through GrpcServer (grpc.health.v1, token
 * guard, TLS/mTLS, TCP_NODELAY). The caller owns the AccessControl and its store.
 *
 * Health/Ready stay SERVING while orly-db is unreachable: decisions come from the in-memory
 * state (the follow set), which is still valid; only refreshes wait for the database.
 *
 * Configure (replacing owners/admins) and Manage (NIP-86: bans, allowances, ...) are refused
 * with PERMISSION_DENIED when the server does not authenticate its callers (no token, no mutual
 * TLS): both change who may do what.
 */

import type { AccessControl } from '../../acl/access-control.js';
import type { StartedPolicy } from '../../acl/policy/write-policy-config.js';
import { ACLServiceService } from '../../gen/orlyacl/v1/acl.js';
import type { GrpcSecurity } from '../../grpc/security.js';
import { GrpcServer } from '../../grpc/server.js';
import type { Logger } from '../../logger.js';
import { aclService } from './acl-service.js';

export interface AclServerOptions {
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  readonly acl: AccessControl;
  /** The write policy beside the service (CheckPolicy, GetReadPolicy); the caller owns it. */
  readonly policy?: StartedPolicy;
  readonly security?: GrpcSecurity;
  readonly logger: Logger;
}

export interface AclServer {
  readonly port: number;
  /** An address clients can dial (a wildcard host becomes 127.0.0.1). */
  readonly address: string;
  /** Graceful stop: running calls may finish for up to `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function startAclServer(options: AclServerOptions): Promise<AclServer> {
  let stopping = false;
  const isServing = () => !stopping;
  const grpc = new GrpcServer({
    name: 'orly-acl',
    listen: options.listen,
    security: options.security ?? {},
    services: [
      {
        definition: ACLServiceService,
        implementation: aclService(options.acl, {
          isReady: isServing,
          logger: options.logger,
          ...(options.policy === undefined ? {} : { policy: options.policy }),
          ...(options.security?.maxMessageBytes === undefined
            ? {}
            : { maxMessageBytes: options.security.maxMessageBytes }),
        }),
      },
    ],
    logger: options.logger,
    isServing,
    adminMethods: ['Configure', 'Manage'],
  });
  const port = await grpc.start();
  let stopped: Promise<void> | undefined;
  return {
    port,
    address: grpc.address,
    stop(graceMs = 5000) {
      stopped ??= (async () => {
        stopping = true;
        await grpc.stop(graceMs);
      })();
      return stopped;
    },
  };
}
