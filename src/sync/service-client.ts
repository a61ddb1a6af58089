/**
 * SyncServiceChannel: the plumbing the relay's clients of the sync services share
 * (GrpcDistributedSync, GrpcClusterSync, GrpcRelayGroupSync), so each of them is only its
 * service's calls.
 *
 * - One channel with the transport security (ORLY_GRPC_*), reconnecting quickly (100 ms backoff,
 *   at most 2 s).
 * - call: one unary call with a deadline (ORLY_GRPC_SYNC_TIMEOUT, default 10 s) that does not wait
 *   for the channel (waitForReady off): while the service is down it fails fast. After close()
 *   every call fails with "client closed".
 * - waitUntilReady: start()'s wait until the service answers Ready (true) within the connect
 *   timeout (default 10 s), else an error naming the service, its address and the last problem.
 * - forwardHttp: the relay's HTTP request to one of the service's endpoints as a common.v1
 *   HTTPRequest RPC, the answer written back as is (hop-by-hop and length headers dropped); a
 *   path the service does not serve is a 404, an answer whose status is not 200..599 a 502, and
 *   no answer (down, failing, past the deadline) a 503 with Retry-After, never a crash.
 */
import type {
  CallOptions,
  ChannelCredentials,
  Client,
  ClientOptions,
  ClientUnaryCall,
  Metadata,
  ServiceError,
} from '@grpc/grpc-js';
import type { HTTPRequest, HTTPResponse } from '../gen/orlysync/common/v1/common.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../grpc/security.js';
import type { Logger } from '../logger.js';
import { errorResponse, type SyncHttpRequest, type SyncHttpResponse } from './replication.js';

export interface SyncServiceClientOptions {
  /** The service's address (host:port). */
  readonly address: string;
  readonly security?: GrpcSecurity;
  readonly logger?: Logger;
  /** Deadline of one call (default 10 s). */
  readonly deadlineMs?: number;
  /** How long start() waits for the service to be ready (default 10 s). */
  readonly connectTimeoutMs?: number;
}

/** A generated client's unary method, in its (request, metadata, options, callback) form. */
export type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** The generated client classes: every sync service answers Ready. */
interface ReadyClient extends Client {
  ready: Unary<Record<string, never>, { ready: boolean }>;
}

type ClientClass<C> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => C;

/** How the answers and the log name what the relay forwards to the service. */
export interface ForwardWording {
  /** In the 502 and 503 answers: "distributed sync service". */
  readonly label: string;
  /** In the log line "<service> did not answer a <kind> request": "sync". */
  readonly kind: string;
}

/** Headers of the service's answer the relay sets itself. */
const DROPPED_HEADERS = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive']);

/** A gRPC error's details, else its message. */
export function detailOf(err: unknown): string {
  return (err as ServiceError).details || (err as Error).message || String(err);
}

export class SyncServiceChannel<C extends ReadyClient> {
  readonly client: C;
  private readonly metadata: Metadata;
  private readonly deadlineMs: number;
  private isClosed = false;

  /** `service` names the service in errors and logs ("orly-sync-cluster"). */
  constructor(
    private readonly service: string,
    ClientClass: ClientClass<C>,
    private readonly options: SyncServiceClientOptions,
  ) {
    const security = options.security ?? {};
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.metadata = callMetadata(security);
    this.metadata.setOptions({ waitForReady: false });
    this.client = new ClientClass(options.address, channelCredentials(security), {
      ...channelOptions(security),
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + (this.options.connectTimeoutMs ?? 10_000);
    let last = 'no answer';
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) =>
          this.client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
        );
        const { ready } = await this.call(this.client.ready, {}, Math.max(100, deadline - Date.now()));
        if (ready) return;
        last = 'not ready yet';
      } catch (err) {
        last = detailOf(err);
      }
      if (this.isClosed || Date.now() >= deadline)
        throw new Error(`${this.service} at ${this.options.address} is not ready: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  close(): void {
    this.isClosed = true;
    this.client.close();
  }

  call<Req, Res>(rpc: Unary<Req, Res>, request: Req, deadlineMs = this.deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(new Error('client closed'));
      rpc.call(this.client, request, this.metadata, { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  }

  /** `request` to the RPC `routes` names for its path (see the header). */
  async forwardHttp(
    request: SyncHttpRequest,
    routes: ReadonlyMap<string, Unary<HTTPRequest, HTTPResponse>>,
    wording: ForwardWording,
  ): Promise<SyncHttpResponse> {
    const rpc = routes.get(request.path);
    if (rpc === undefined) return errorResponse(404, 'Not found');
    try {
      const answer = await this.call(rpc, {
        method: request.method,
        path: request.path,
        headers: { ...request.headers },
        body: Buffer.from(request.body),
        queryString: request.query,
        remoteAddr: request.remoteAddr,
        requestUrls: [...request.requestUrls],
      });
      if (!Number.isInteger(answer.statusCode) || answer.statusCode < 200 || answer.statusCode > 599)
        return errorResponse(502, `${wording.label}: invalid answer`);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.headers))
        if (!DROPPED_HEADERS.has(name.toLowerCase())) headers[name] = value;
      return { status: answer.statusCode, headers, body: Buffer.from(answer.body).toString('utf8') };
    } catch (err) {
      this.options.logger?.warn(
        { path: request.path, err: detailOf(err) },
        `${this.service} did not answer a ${wording.kind} request`,
      );
      return errorResponse(503, `${wording.label} unavailable`, { 'Retry-After': '5' });
    }
  }
}
