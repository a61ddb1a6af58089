/**
 * A gRPC server for one ORLY service: binds the listen address, serves the service and the
 * standard grpc.health.v1 Health service, enforces the bearer token (when configured) on every
 * call, sets TCP_NODELAY on accepted sockets (without it Nagle's algorithm adds tens of
 * milliseconds to p99), and stops gracefully.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  type Metadata,
  Server,
  type ServiceDefinition,
  status,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { dialAddress } from '../config/env.js';
import { HealthCheckResponse_ServingStatus, HealthService } from '../gen/grpc/health/v1/health.js';
import type { Logger } from '../logger.js';
import { type GrpcSecurity, serverCredentials } from './security.js';

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
}

const UNAUTHENTICATED = { code: status.UNAUTHENTICATED, details: 'missing or invalid bearer token' };

function tokenMatches(expected: Buffer, metadata: Metadata): boolean {
  const header = metadata.get('authorization')[0];
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Wraps every handler of a service so calls without the token are refused. */
function guarded(binding: GrpcServiceBinding, token: Buffer | undefined): UntypedServiceImplementation {
  if (!token) return binding.implementation;
  const out: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(binding.definition)) {
    const handler = binding.implementation[name] as ((...args: unknown[]) => void) | undefined;
    if (!handler) continue;
    const answersWithCallback = !method.responseStream;
    out[name] = ((
      call: { metadata: Metadata; emit: (e: string, v: unknown) => void },
      callback?: (e: unknown) => void,
    ) => {
      if (tokenMatches(token, call.metadata)) return handler(call, callback);
      if (answersWithCallback && callback) callback(UNAUTHENTICATED);
      else call.emit('error', UNAUTHENTICATED);
    }) as UntypedHandleCall;
  }
  return out;
}

export class GrpcServer {
  private readonly server = new Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    // Clients ping every 30 s (keepalive); allow it instead of answering with GOAWAY.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  private boundPort = 0;

  constructor(private readonly options: GrpcServerOptions) {
    const token = options.security.token ? Buffer.from(options.security.token) : undefined;
    for (const binding of options.services)
      this.server.addService(binding.definition, guarded(binding, token));
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

  async start(): Promise<number> {
    const { listen, security, logger, name } = this.options;
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
