/**
 * AccessControl over gRPC: the relay's client of orly-acl (orlyacl.v1.ACLService).
 *
 * - connect() waits (up to `connectTimeoutMs`) for the service and reads the mode with GetType.
 * - Every later call has a deadline (`deadlineMs`) and does not wait for a connection (gRPC's
 *   default, waitForReady=false): while orly-acl is down (restarting under the launcher), calls
 *   fail at once with UNAVAILABLE instead of piling up; reconnection backoff is capped at 2 s.
 * - FAIL CLOSED: when the service cannot be reached or answers with an error status,
 *   checkEvent returns "error: access control unavailable" (a write it could not check is
 *   never allowed) and accessLevel returns "none". Transitions are logged once each way.
 * - Denial reasons come from the `reason` field, verbatim ("blocked: ...").
 * - eventStored is not forwarded: orly-acl follows the database's change feed itself.
 */

import { type ChannelCredentials, type Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { Reasons } from '../errors.js';
import { ACLServiceClient } from '../gen/orlyacl/v1/acl.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../grpc/security.js';
import type { Logger } from '../logger.js';
import { type NostrEvent, serializeEvent } from '../protocol/event.js';
import {
  type AccessControl,
  type AccessControlUpdate,
  type AccessLevel,
  isAccessLevel,
  type Requester,
} from './access-control.js';

export const ACL_UNAVAILABLE = Reasons.aclUnavailable;

export interface GrpcAccessControlOptions {
  readonly security: GrpcSecurity;
  /** Deadline of each call, ms. Default 5000. */
  readonly deadlineMs?: number;
  /** How long connect() waits for the service, ms. Default 30000. */
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
}

type Call<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

export class GrpcAccessControl implements AccessControl {
  private available = true;
  private closed = false;

  private constructor(
    private readonly client: ACLServiceClient,
    private readonly address: string,
    readonly mode: string,
    private readonly metadata: Metadata,
    private readonly deadlineMs: number,
    private readonly logger: Logger | undefined,
  ) {}

  static async connect(address: string, options: GrpcAccessControlOptions): Promise<GrpcAccessControl> {
    const creds: ChannelCredentials = channelCredentials(options.security);
    const client = new ACLServiceClient(address, creds, {
      ...channelOptions(options.security),
      // Reconnect quickly after orly-acl restarts (grpc-js defaults back off up to 120 s).
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
    const metadata = callMetadata(options.security);
    const timeout = options.connectTimeoutMs ?? 30_000;
    try {
      const deadline = new Date(Date.now() + timeout);
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
      );
      const { mode } = await new Promise<{ mode: string }>((resolve, reject) =>
        client.getType({}, metadata, { deadline }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      options.logger?.info({ address, mode }, 'connected to orly-acl');
      return new GrpcAccessControl(
        client,
        address,
        mode,
        metadata,
        options.deadlineMs ?? 5000,
        options.logger,
      );
    } catch (err) {
      client.close();
      throw new Error(`orly-acl at ${address} is not reachable: ${(err as Error).message}`);
    }
  }

  private call<Req, Res>(method: Call<Req, Res>, request: Req): Promise<Res> {
    if (this.closed) return Promise.reject(new Error('access control client is closed'));
    return new Promise<Res>((resolve, reject) => {
      method.call(
        this.client,
        request,
        this.metadata,
        { deadline: new Date(Date.now() + this.deadlineMs) },
        (err, res) => {
          if (err) {
            this.markUnavailable(err);
            reject(err);
          } else {
            this.markAvailable();
            resolve(res);
          }
        },
      );
    });
  }

  private markUnavailable(err: ServiceError): void {
    if (!this.available) return;
    this.available = false;
    const level = err.code === status.UNAUTHENTICATED ? 'error' : 'warn';
    this.logger?.[level](
      { address: this.address, code: err.code, err: err.details || err.message },
      'orly-acl unavailable: refusing writes until it answers again',
    );
  }

  private markAvailable(): void {
    if (this.available) return;
    this.available = true;
    this.logger?.info({ address: this.address }, 'orly-acl answering again');
  }

  async checkEvent(event: NostrEvent, requester: Requester): Promise<string | undefined> {
    try {
      const res = await this.call(
        this.client.checkAccess as Call<unknown, { allowed: boolean; reason: string }>,
        {
          eventJson: serializeEvent(event),
          requester: { authedPubkeys: [...requester.authed], ip: requester.ip },
        },
      );
      if (res.allowed) return undefined;
      return res.reason || Reasons.aclDenied;
    } catch {
      return ACL_UNAVAILABLE;
    }
  }

  async accessLevel(pubkey: string | undefined, ip: string): Promise<AccessLevel> {
    try {
      const res = await this.call(this.client.getAccessLevel as Call<unknown, { level: string }>, {
        pubkey: pubkey ?? '',
        ip,
      });
      return isAccessLevel(res.level) ? res.level : 'none';
    } catch {
      return 'none';
    }
  }

  /** Replaces owners/admins on the service and/or reloads; throws when it refuses. */
  async configure(update: AccessControlUpdate): Promise<void> {
    const res = await this.call(this.client.configure as Call<unknown, { ok: boolean; message: string }>, {
      owners: [...(update.owners ?? [])],
      admins: [...(update.admins ?? [])],
      reload: update.reload ?? false,
    });
    if (!res.ok) throw new Error(`orly-acl refused the configuration: ${res.message}`);
  }

  /** The service's Ready answer; false when it cannot be reached. */
  async ready(): Promise<boolean> {
    try {
      return (await this.call(this.client.ready as Call<unknown, { ready: boolean }>, {})).ready;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}
