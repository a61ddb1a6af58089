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
 * - Throttle: an accepted answer's `delay_ms` is kept for that event object (a WeakMap) and
 *   returned by writeDelayMs, which the relay asks right after checkEvent: one call per EVENT.
 * - eventStored is not forwarded: orly-acl follows the database's change feed itself.
 * - management (when GetType says the mode has one): manage() = Manage, the outcome field
 *   verbatim; relayInfo() = GetRelayInfo, cached for RELAY_INFO_TTL_MS (the last answer is
 *   served while orly-acl cannot be reached). A successful Manage drops that cache.
 * - hiddenAuthors: synchronous, from a copy of GetReadRestrictions (read-restrictions-copy.ts)
 *   loaded at connect, refreshed every `refreshMs` and right after each successful Manage made
 *   through this client. So this relay sees its own changes at once; another relay sharing the
 *   orly-acl within `refreshMs` (ORLY_GRPC_ACL_REFRESH_SECONDS). Decisions (checkEvent,
 *   accessLevel) always ask orly-acl: they are current.
 */

import { type ChannelCredentials, type Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { Reasons } from '../errors.js';
import {
  ACLServiceClient,
  type CheckAccessResponse,
  type ManageResponse,
  type ReadRestrictionsResponse,
  type RelayInfoResponse,
} from '../gen/orlyacl/v1/acl.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../grpc/security.js';
import type { Logger } from '../logger.js';
import { type NostrEvent, serializeEvent } from '../protocol/event.js';
import {
  type AccessControl,
  type AccessControlUpdate,
  type AccessLevel,
  hiddenFor,
  isAccessLevel,
  type Requester,
} from './access-control.js';
import type { AclManagement, ManagementOutcome, RelayInfoOverrides } from './management.js';
import { ReadRestrictionsCopy } from './read-restrictions-copy.js';

export const ACL_UNAVAILABLE = Reasons.aclUnavailable;
/** How long a GetRelayInfo answer is reused (NIP-11 documents are fetched by every client). */
export const RELAY_INFO_TTL_MS = 5000;
/** orly-acl refuses larger params (INVALID_ARGUMENT); they are answered here as an error. */
const MAX_PARAMS_BYTES = 64 * 1024;

export interface GrpcAccessControlOptions {
  readonly security: GrpcSecurity;
  /** Deadline of each call, ms. Default 5000. */
  readonly deadlineMs?: number;
  /** How long connect() waits for the service, ms. Default 30000. */
  readonly connectTimeoutMs?: number;
  /** How often the read restrictions are refreshed, ms. Default 5000. */
  readonly refreshMs?: number;
  readonly logger?: Logger;
}

interface TypeInfo {
  readonly mode: string;
  readonly hasManagement: boolean;
}

type Call<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: (err: ServiceError | null, response: Res) => void,
) => unknown;

export class GrpcAccessControl implements AccessControl {
  readonly mode: string;
  readonly management: AclManagement | undefined;
  private available = true;
  private closed = false;
  private readonly restrictions: ReadRestrictionsCopy;
  private relayInfoCache: { readonly at: number; readonly value: Promise<RelayInfoOverrides> } | undefined;
  private lastRelayInfo: RelayInfoOverrides | undefined;
  /** Delays orly-acl's throttle set on accepted events, until writeDelayMs reads them (weak: never leaks). */
  private readonly delays = new WeakMap<NostrEvent, number>();

  private constructor(
    private readonly client: ACLServiceClient,
    private readonly address: string,
    type: TypeInfo,
    private readonly metadata: Metadata,
    private readonly deadlineMs: number,
    private readonly logger: Logger | undefined,
  ) {
    this.mode = type.mode;
    this.management = type.hasManagement
      ? {
          manage: (method, params, caller) => this.manage(method, params, caller),
          relayInfo: () => this.relayInfo(),
        }
      : undefined;
    this.restrictions = new ReadRestrictionsCopy(
      (knownVersion) =>
        this.call(this.client.getReadRestrictions as Call<unknown, ReadRestrictionsResponse>, {
          knownVersion,
        }),
      logger,
    );
  }

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
      const type = await new Promise<TypeInfo>((resolve, reject) =>
        client.getType({}, metadata, { deadline }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      const acl = new GrpcAccessControl(
        client,
        address,
        type,
        metadata,
        options.deadlineMs ?? 5000,
        options.logger,
      );
      await acl.restrictions.load();
      acl.restrictions.start(options.refreshMs ?? 5000);
      options.logger?.info(
        { address, mode: type.mode, management: type.hasManagement },
        'connected to orly-acl',
      );
      return acl;
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
    // A refused request (bad argument, a caller not allowed) is an answer, not an outage.
    if (err.code === status.INVALID_ARGUMENT || err.code === status.PERMISSION_DENIED) return;
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
      const res = await this.call(this.client.checkAccess as Call<unknown, CheckAccessResponse>, {
        eventJson: serializeEvent(event),
        requester: { authedPubkeys: [...requester.authed], ip: requester.ip },
      });
      if (res.allowed) {
        if (res.delayMs > 0) this.delays.set(event, res.delayMs);
        return undefined;
      }
      return res.reason || Reasons.aclDenied;
    } catch {
      return ACL_UNAVAILABLE;
    }
  }

  /** The `delay_ms` of the CheckAccess answer about this event object (no second call); 0 if none. */
  writeDelayMs(event: NostrEvent): number {
    const ms = this.delays.get(event) ?? 0;
    this.delays.delete(event);
    return ms;
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

  hiddenAuthors(requester: Pick<Requester, 'authed'>): ReadonlySet<string> | undefined {
    return hiddenFor(this.restrictions.restrictions, requester);
  }

  /** Manage: the outcome field; throws when orly-acl did not run the call (unreachable, refused). */
  private async manage(
    method: string,
    params: readonly unknown[],
    caller: string,
  ): Promise<ManagementOutcome> {
    const paramsJson = JSON.stringify(params);
    if (Buffer.byteLength(paramsJson) > MAX_PARAMS_BYTES)
      return { error: `${method}: params are over ${MAX_PARAMS_BYTES} bytes` };
    const res = await this.call(this.client.manage as Call<unknown, ManageResponse>, {
      method,
      paramsJson,
      caller,
    });
    const outcome = res.outcome;
    if (outcome?.$case === 'error') return { error: outcome.value };
    if (outcome?.$case !== 'resultJson') throw new Error('orly-acl answered Manage without an outcome');
    const result: unknown = JSON.parse(outcome.value);
    // What this call changed is visible through this relay from now on.
    this.relayInfoCache = undefined;
    await this.restrictions.refresh();
    return { result };
  }

  private relayInfo(): Promise<RelayInfoOverrides> {
    const now = Date.now();
    const cached = this.relayInfoCache;
    if (cached !== undefined && now - cached.at < RELAY_INFO_TTL_MS) return cached.value;
    const value = this.call(this.client.getRelayInfo as Call<unknown, RelayInfoResponse>, {}).then(
      (res) => {
        const info: RelayInfoOverrides = {
          ...(res.name === undefined ? {} : { name: res.name }),
          ...(res.description === undefined ? {} : { description: res.description }),
          ...(res.icon === undefined ? {} : { icon: res.icon }),
        };
        this.lastRelayInfo = info;
        return info;
      },
      (err: Error) => {
        if (this.relayInfoCache?.value === value) this.relayInfoCache = undefined;
        if (this.lastRelayInfo !== undefined) return this.lastRelayInfo;
        throw err;
      },
    );
    this.relayInfoCache = { at: now, value };
    return value;
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
    this.restrictions.stop();
    this.client.close();
  }
}
