/**
 * A gRPC server for one ORLY service: binds the listen address, serves the service and the
 * standard grpc.health.v1 Health service, sets TCP_NODELAY on accepted sockets (without it
 * Nagle's algorithm adds tens of milliseconds to p99), and stops gracefully.
 *
 * Authentication (see security.ts):
 * - start() refuses (ConfigError) to listen beyond loopback without a token or mutual TLS,
 *   unless ORLY_GRPC_INSECURE; running without authentication logs a warning.
 * - With a token, a server interceptor checks it from the call's METADATA, before any request
 *   message is read: a call without it is answered UNAUTHENTICATED and its body is never
 *   decoded (the stream stays paused; HTTP/2 flow control stops the sender after one window).
 *   The health service stays open (it reveals nothing but up/down).
 * - `adminMethods` are refused with PERMISSION_DENIED, from the metadata too, when the server
 *   does not authenticate its callers.
 */
import { timingSafeEqual } from 'node:crypto';
import { constants as http2constants, type ServerHttp2Stream } from 'node:http2';
import {
  Metadata,
  Server,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServiceDefinition,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { dialAddress } from '../config/env.js';
import { HealthCheckResponse_ServingStatus, HealthService } from '../gen/grpc/health/v1/health.js';
import type { Logger } from '../logger.js';
import {
  authenticatesCallers,
  checkServerExposure,
  type GrpcSecurity,
  serverCredentials,
  serverMessageLimits,
} from './security.js';

export interface GrpcServiceBinding {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  /** For logs, e.g. "orly-db". */
  readonly name: string;
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  readonly security: GrpcSecurity;
  readonly services: readonly GrpcServiceBinding[];
  readonly logger: Logger;
  /** Health answer: SERVING while this returns true. */
  readonly isServing: () => boolean;
  /**
   * Method names (as in the proto, e.g. "DeleteEvent") refused with PERMISSION_DENIED when the
   * server does not authenticate its callers (no token, no mutual TLS).
   */
  readonly adminMethods?: readonly string[];
}

const HEALTH_PATH = '/grpc.health.v1.Health/';

function tokenMatches(expected: Buffer, metadata: Metadata): boolean {
  const header = metadata.get('authorization')[0];
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Answers a refused call and stops its upload (see `endUpload`). */
function refuse(call: ServerInterceptingCallInterface, code: status, details: string): void {
  call.sendStatus({ code, details, metadata: new Metadata() });
  endUpload(call);
}

/**
 * After a refusal grpc-js keeps reading (and discarding) what the client still uploads: a
 * 64 MB request would still cross the network. RST_STREAM(NO_ERROR) after the complete
 * response tells the client to stop sending (RFC 9113 8.1); it still reads the status. The
 * HTTP/2 stream is a private field of grpc-js's base call: without it, nothing is done.
 */
function endUpload(call: ServerInterceptingCallInterface): void {
  const stream = (call as unknown as { stream?: ServerHttp2Stream }).stream;
  if (stream === undefined || typeof stream.close !== 'function') return;
  setImmediate(() => {
    if (!stream.destroyed) stream.close(http2constants.NGHTTP2_NO_ERROR);
  });
}

/**
 * Decides each call from its metadata alone: the token (when configured), then the admin
 * methods (when callers are not authenticated). A refused call is answered at once; its
 * request message is never read.
 */
function accessInterceptor(
  token: Buffer | undefined,
  refusedPaths: ReadonlyMap<string, string>,
): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const path = method.path;
            if (token !== undefined && !path.startsWith(HEALTH_PATH) && !tokenMatches(token, metadata)) {
              refuse(call, status.UNAUTHENTICATED, 'missing or invalid bearer token');
              return;
            }
            const refusal = refusedPaths.get(path);
            if (refusal !== undefined) {
              refuse(call, status.PERMISSION_DENIED, refusal);
              return;
            }
            pass(metadata);
          },
        }),
    });
}

export class GrpcServer {
  private readonly server: Server;
  private boundPort = 0;

  constructor(private readonly options: GrpcServerOptions) {
    const { security } = options;
    const token = security.token ? Buffer.from(security.token) : undefined;
    const refusedPaths = new Map<string, string>();
    if (!authenticatesCallers(security)) {
      for (const binding of options.services) {
        for (const method of Object.values(binding.definition)) {
          const name = method.path.slice(method.path.lastIndexOf('/') + 1);
          if (options.adminMethods?.includes(name)) {
            refusedPaths.set(
              method.path,
              `${name} needs an authenticated caller: give ${options.name} and its clients ORLY_GRPC_TOKEN (or mutual TLS)`,
            );
          }
        }
      }
    }
    this.server = new Server({
      ...serverMessageLimits(security),
      // Clients ping every 30 s (keepalive); allow it instead of answering with GOAWAY.
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 10_000,
      interceptors: [accessInterceptor(token, refusedPaths)],
    });
    for (const binding of options.services)
      this.server.addService(binding.definition, binding.implementation);
    const health = () =>
      options.isServing()
        ? HealthCheckResponse_ServingStatus.SERVING
        : HealthCheckResponse_ServingStatus.NOT_SERVING;
    // Health stays open to probes (no token): it reveals nothing but up/down.
    this.server.addService(HealthService, {
      check: (_call: unknown, callback: (e: null, r: { status: number }) => void) =>
        callback(null, { status: health() }),
      watch: (call: { write: (r: { status: number }) => void; on: (e: string, f: () => void) => void }) => {
        let last = -1;
        const tick = () => {
          const now = health();
          if (now !== last) call.write({ status: now });
          last = now;
        };
        tick();
        const timer = setInterval(tick, 1000);
        call.on('cancelled', () => clearInterval(timer));
        call.on('close', () => clearInterval(timer));
      },
    } as unknown as UntypedServiceImplementation);
  }

  get port(): number {
    return this.boundPort;
  }

  /** An address clients can dial once started (a wildcard host becomes loopback). */
  get address(): string {
    return dialAddress(`${this.options.listen.replace(/:\d+$/, '')}:${this.boundPort}`);
  }

  /** True when every call reaching a handler comes from an authenticated caller. */
  get authenticatesCallers(): boolean {
    return authenticatesCallers(this.options.security);
  }

  /**
   * Binds and serves. Throws a ConfigError (naming ORLY_GRPC_TOKEN) instead when it would
   * listen beyond loopback without authentication and ORLY_GRPC_INSECURE is not set.
   */
  async start(): Promise<number> {
    const { listen, security, logger, name } = this.options;
    const warning = checkServerExposure(name, listen, security);
    if (warning !== undefined) logger.warn({ service: name, listen }, warning);
    this.boundPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(listen, serverCredentials(security), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    // grpc-js does not set TCP_NODELAY on accepted sockets; its http2 servers are reachable here.
    const http2Servers = (
      this.server as unknown as {
        http2Servers?: Map<
          { on(event: string, listener: (socket: { setNoDelay(v: boolean): void }) => void): void },
          unknown
        >;
      }
    ).http2Servers;
    for (const http2 of http2Servers?.keys() ?? []) {
      http2.on('connection', (socket: { setNoDelay(v: boolean): void }) => socket.setNoDelay(true));
      http2.on('secureConnection', (socket: { setNoDelay(v: boolean): void }) => socket.setNoDelay(true));
    }
    logger.info(
      {
        service: name,
        listen,
        port: this.boundPort,
        tls: !!security.cert,
        mtls: !!security.ca,
        token: !!security.token,
        authenticated: authenticatesCallers(security),
      },
      'grpc listening',
    );
    return this.boundPort;
  }

  /** Stops accepting calls, lets running calls finish for up to `graceMs`, then cancels the rest. */
  async stop(graceMs = 5000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
