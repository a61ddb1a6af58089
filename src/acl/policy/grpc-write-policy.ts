/**
 * The write policy of split mode, as the relay holds it: the policy runs in orly-acl (ORLY's
 * policy file and the strfry plugin beside the service that decides), the relay asks.
 *
 * - connect() reads GetType: undefined when orly-acl runs no write policy. Otherwise it loads the
 *   read policy (GetReadPolicy) before the relay starts, and refreshes it every `refreshMs` and
 *   right after a policy update (kind 12345) accepted through this relay, so this relay sees its
 *   own update at once and the others within `refreshMs` (ORLY_GRPC_ACL_REFRESH_SECONDS).
 * - decide() = CheckPolicy "write", with a deadline. FAIL CLOSED: no answer (orly-acl down, an
 *   error status, an unknown action) is an `error:` verdict, never an accept.
 * - readScope() answers synchronously from the copy, with the same code as in process
 *   (policy-rules.ts via ReadScopeCache); a copy that cannot be refreshed is kept (logged once).
 */
import type { ChannelCredentials, Metadata, ServiceError } from '@grpc/grpc-js';
import { reason } from '../../errors.js';
import {
  ACLServiceClient,
  type CheckPolicyResponse,
  type ReadPolicyResponse,
} from '../../gen/orlyacl/v1/acl.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import { serializeEvent } from '../../protocol/event.js';
import type { ReadScope } from '../../protocol/read-scope.js';
import { parsePolicyDocument } from './orly/policy-document.js';
import { type CompiledPolicy, compilePolicy, POLICY_UPDATE_KIND } from './orly/policy-rules.js';
import { ReadScopeCache } from './orly/read-scope-cache.js';
import type { PluginInput, PluginVerdict, WritePolicy } from './plugin-protocol.js';

export const POLICY_UNAVAILABLE = reason('error', 'write policy unavailable');

export interface GrpcWritePolicyOptions {
  readonly security: GrpcSecurity;
  /** Deadline of a decision, ms: the plugin's own timeout plus a margin. Default 15000. */
  readonly deadlineMs?: number;
  /** How long connect() waits for the service, ms. Default 30000. */
  readonly connectTimeoutMs?: number;
  /** How often the read policy is refreshed, ms. Default 5000. */
  readonly refreshMs?: number;
  readonly logger?: Logger;
}

const ACTIONS: ReadonlySet<string> = new Set(['accept', 'reject', 'shadowReject', 'error']);

interface ReadCopy {
  readonly compiled: CompiledPolicy;
  readonly follows: ReadonlySet<string>;
}

export class GrpcWritePolicy implements WritePolicy {
  private version = '';
  private copy: ReadCopy | undefined;
  private readonly scopes = new ReadScopeCache();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private refreshing: Promise<void> | undefined;

  private constructor(
    private readonly client: ACLServiceClient,
    private readonly metadata: Metadata,
    private readonly deadlineMs: number,
    private readonly logger: Logger | undefined,
  ) {}

  /** The policy client, or undefined when orly-acl runs no write policy (the client is then closed). */
  static async connect(
    address: string,
    options: GrpcWritePolicyOptions,
  ): Promise<GrpcWritePolicy | undefined> {
    const creds: ChannelCredentials = channelCredentials(options.security);
    const client = new ACLServiceClient(address, creds, {
      ...channelOptions(options.security),
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
    const metadata = callMetadata(options.security);
    try {
      const deadline = new Date(Date.now() + (options.connectTimeoutMs ?? 30_000));
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
      );
      const type = await new Promise<{ hasWritePolicy: boolean }>((resolve, reject) =>
        client.getType({}, metadata, { deadline }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      if (!type.hasWritePolicy) {
        client.close();
        return undefined;
      }
      const policy = new GrpcWritePolicy(client, metadata, options.deadlineMs ?? 15_000, options.logger);
      await policy.load();
      policy.timer = setInterval(() => void policy.refresh(), options.refreshMs ?? 5000);
      policy.timer.unref();
      options.logger?.info(
        { address, policyFile: policy.copy !== undefined },
        'write policy runs in orly-acl',
      );
      return policy;
    } catch (err) {
      client.close();
      throw new Error(`orly-acl at ${address} is not reachable: ${(err as Error).message}`);
    }
  }

  async decide(input: PluginInput): Promise<PluginVerdict> {
    let res: CheckPolicyResponse;
    try {
      res = await this.unary<CheckPolicyResponse>('checkPolicy', {
        action: 'write',
        eventJson: serializeEvent(input.event),
        requester: {
          authedPubkeys: input.authed === undefined ? [] : [input.authed],
          ip: input.sourceType === 'IP4' || input.sourceType === 'IP6' ? input.sourceInfo : '',
        },
        receivedAt: input.receivedAt,
        sourceType: input.sourceType,
        sourceInfo: input.sourceInfo,
      });
    } catch (err) {
      this.logger?.warn(
        { err: (err as ServiceError).details || (err as Error).message },
        'CheckPolicy failed',
      );
      return { action: 'error', msg: POLICY_UNAVAILABLE };
    }
    if (!ACTIONS.has(res.action)) return { action: 'error', msg: POLICY_UNAVAILABLE };
    if (res.action === 'accept') {
      if (input.event.kind === POLICY_UPDATE_KIND) await this.refresh();
      return res.msg === '' ? { action: 'accept' } : { action: 'accept', msg: res.msg };
    }
    if (res.action === 'shadowReject') return { action: 'shadowReject' };
    return { action: res.action as 'reject' | 'error', msg: res.msg || POLICY_UNAVAILABLE };
  }

  readScope(reader: { readonly authed: ReadonlySet<string> }): ReadScope | undefined {
    const copy = this.copy;
    return copy === undefined ? undefined : this.scopes.scope(copy.compiled, copy.follows, reader.authed);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.client.close();
  }

  /** Fetches the read policy; throws on failure (connect: the relay does not start without it). */
  private async load(): Promise<void> {
    const res = await this.unary<ReadPolicyResponse>('getReadPolicy', { knownVersion: this.version });
    if (!res.unchanged) {
      if (!res.enabled) this.copy = undefined;
      else {
        const compiled = compilePolicy(parsePolicyDocument(res.policyJson), res.extraOwners);
        this.copy = { compiled, follows: new Set(res.follows) };
      }
    }
    this.version = res.version;
  }

  /** load(), one at a time, never rejecting: on failure the last copy is kept. */
  private refresh(): Promise<void> {
    this.refreshing ??= this.load()
      .then(
        () => {
          if (this.failing) this.logger?.info('read policy refreshed from orly-acl again');
          this.failing = false;
        },
        (err: Error) => {
          if (!this.failing)
            this.logger?.warn(
              { err: err.message },
              'could not refresh the read policy from orly-acl: keeping the last copy',
            );
          this.failing = true;
        },
      )
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private unary<Res>(method: 'checkPolicy' | 'getReadPolicy', request: unknown): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      (
        this.client[method] as unknown as (
          req: unknown,
          md: Metadata,
          opts: { deadline: Date },
          cb: (err: ServiceError | null, res: Res) => void,
        ) => void
      ).call(
        this.client,
        request,
        this.metadata,
        { deadline: new Date(Date.now() + this.deadlineMs) },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  }
}
