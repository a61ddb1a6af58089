/**
 * The connection to orly-db that GrpcEventStore's parts share: the generated client and its
 * call metadata, the last known reachability (isOpen), the closed flag, unary calls with a
 * deadline, the Ready probe, and the mapping of failures to DatabaseCallError.
 *
 * Every call fails fast while orly-db is down (waitForReady false: an error, not a hang); unary
 * calls also carry a deadline. The channel reconnects by itself (backoff capped at 2 s).
 * Reachability: channel READY, or any successful answer, makes it true; TRANSIENT_FAILURE or an
 * UNAVAILABLE answer makes it false.
 */
import {
  type ClientUnaryCall,
  connectivityState as ConnectivityState,
  type Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { OrlyError } from '../../errors.js';
import { DatabaseServiceClient, type ReadyResponse } from '../../gen/orlydb/v1/db.js';
import {
  callMetadata,
  channelCredentials,
  channelOptions,
  DEFAULT_MAX_MESSAGE_BYTES,
  type GrpcSecurity,
} from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import { describeStatus, grpcStatusOf } from './codec.js';

/** An error from a call to orly-db; `status` is the gRPC status code. */
export class DatabaseCallError extends OrlyError {
  readonly code: string = 'ORLY_DATABASE_CALL';
  override readonly name = 'DatabaseCallError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectionOptions {
  readonly security?: GrpcSecurity;
  readonly logger?: Logger;
  /** Deadline of unary calls (default 10 s). */
  readonly deadlineMs?: number;
}

/** A unary call of the generated client, given metadata, call options and the callback. */
export type UnaryInvoke<Res> = (
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export class DatabaseConnection {
  readonly client: DatabaseServiceClient;
  readonly logger: Logger | undefined;
  readonly deadlineMs: number;
  /** The largest message this client sends (ORLY_GRPC_MAX_MESSAGE_SIZE). */
  readonly maxMessageBytes: number;
  private readonly metadata: Metadata;
  private reachable = false;
  private closedFlag = false;

  constructor(
    readonly address: string,
    options: ConnectionOptions,
  ) {
    const security = options.security ?? {};
    this.logger = options.logger;
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.maxMessageBytes = security.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.metadata = callMetadata(security);
    this.metadata.setOptions({ waitForReady: false });
    this.client = new DatabaseServiceClient(address, channelCredentials(security), {
      ...channelOptions(security),
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
    this.monitorConnectivity();
  }

  /** A fresh copy of the call metadata (token), for one call. */
  callMetadata(): Metadata {
    return this.metadata.clone();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** From now on calls fail at once (the channel itself is closed by `close`). */
  markClosed(): void {
    this.closedFlag = true;
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }

  /** Not closed, and orly-db last known reachable. */
  isOpen(): boolean {
    return !this.closedFlag && this.reachable;
  }

  /** A call got an answer. */
  markReachable(): void {
    this.reachable = true;
  }

  /** A call failed: UNAVAILABLE means orly-db is not reachable. */
  noteError(error: unknown): void {
    if (grpcStatusOf(error) === status.UNAVAILABLE) this.reachable = false;
  }

  callError(method: string, error: unknown): DatabaseCallError {
    const code = grpcStatusOf(error) ?? status.UNKNOWN;
    const detail = describeStatus(error);
    const message =
      code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED
        ? `database unavailable (${method}: ${detail})`
        : `database error (${method}: ${detail})`;
    return new DatabaseCallError(code, message);
  }

  unary<Res>(method: string, invoke: UnaryInvoke<Res>, deadlineMs = this.deadlineMs): Promise<Res> {
    if (this.closedFlag) {
      return Promise.reject(
        new DatabaseCallError(status.UNAVAILABLE, `database unavailable (${method}: client closed)`),
      );
    }
    return new Promise<Res>((resolve, reject) => {
      invoke(this.metadata.clone(), { deadline: Date.now() + deadlineMs }, (error, response) => {
        if (error) {
          this.noteError(error);
          reject(this.callError(method, error));
        } else {
          this.reachable = true;
          resolve(response);
        }
      });
    });
  }

  assertOpen(): void {
    if (this.closedFlag)
      throw new DatabaseCallError(status.UNAVAILABLE, 'database unavailable (client closed)');
  }

  /** Ready: the server is up and its store is open. */
  async ready(deadlineMs = this.deadlineMs): Promise<boolean> {
    const response = await this.unary<ReadyResponse>(
      'ready',
      (md, opts, cb) => this.client.ready({}, md, opts, cb),
      deadlineMs,
    );
    return response.ready;
  }

  /** Tracks channel connectivity for isOpen(), and reconnects an idle channel eagerly. */
  private monitorConnectivity(): void {
    const channel = this.client.getChannel();
    const step = (): void => {
      if (this.closedFlag) return;
      const state = channel.getConnectivityState(true);
      if (state === ConnectivityState.READY) this.reachable = true;
      else if (state === ConnectivityState.TRANSIENT_FAILURE || state === ConnectivityState.SHUTDOWN)
        this.reachable = false;
      if (state === ConnectivityState.SHUTDOWN) return;
      try {
        channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, step);
      } catch {
        // the channel was closed
      }
    };
    step();
  }
}
