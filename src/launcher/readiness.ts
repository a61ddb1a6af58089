/**
 * Readiness probes: is a started service ready to serve?
 *   - grpc: grpc.health.v1 Health/Check answers SERVING (every ORLY TS gRPC service registers
 *     it; see src/grpc/server.ts), with the same transport security as the services (TLS /
 *     mTLS from ORLY_GRPC_*; the token is sent too, though health is open).
 *   - http: GET <url> answers 200 (the relay's /health).
 * Each attempt opens its own connection through connectProbeSocket (probe-socket.ts), which can
 * never occupy a port a service is about to bind: so the gRPC check is a small HTTP/2 call made
 * here over that socket rather than a grpc-js channel (whose sockets cannot be bound that way).
 * `waitUntilReady` polls every 250 ms (each attempt bounded to 1 s) until success, the timeout,
 * or the abort signal (the launcher aborts when the child exits or a stop is requested).
 */

import { request } from 'node:http';
import { type ClientHttp2Session, connect as http2Connect } from 'node:http2';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseListen } from '../config/env.js';
import { OrlyError } from '../errors.js';
import { HealthCheckResponse, HealthCheckResponse_ServingStatus } from '../gen/grpc/health/v1/health.js';
import type { GrpcSecurity } from '../grpc/security.js';
import { connectProbeSocket } from './probe-socket.js';

export interface Probe {
  /** For messages, e.g. "grpc health at 127.0.0.1:50051". */
  readonly description: string;
  /** One attempt: resolves true when ready; false or a rejection means "not yet". */
  check(): Promise<boolean>;
  close(): void;
}

const ATTEMPT_MS = 1000;
const INTERVAL_MS = 250;
/** An empty HealthCheckRequest as a gRPC message: not compressed, length 0. */
const EMPTY_REQUEST = Buffer.alloc(5);

export function grpcHealthProbe(address: string, security: GrpcSecurity): Probe {
  const { host, port } = parseListen(address, 'address');
  return {
    description: `grpc health at ${address}`,
    async check() {
      const socket = await connectProbeSocket(host, port, ATTEMPT_MS);
      return healthCheck(socket, host, security);
    },
    close() {},
  };
}

/** One grpc.health.v1 Health/Check over `socket` (wrapped in TLS when configured). */
function healthCheck(socket: Socket, host: string, sec: GrpcSecurity): Promise<boolean> {
  const secure = sec.ca !== undefined || sec.cert !== undefined;
  const name = sec.serverName ?? host;
  const transport = secure
    ? tlsConnect({
        socket,
        ca: sec.ca,
        cert: sec.cert,
        key: sec.key,
        host: name,
        ...(isIP(name) === 0 ? { servername: name } : {}),
        ALPNProtocols: ['h2'],
      })
    : socket;
  const session: ClientHttp2Session = http2Connect(`${secure ? 'https' : 'http'}://${host}`, {
    createConnection: () => transport,
  });
  return new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no answer within ${ATTEMPT_MS} ms`)), ATTEMPT_MS);
    function done(error: Error | undefined, ready = false): void {
      clearTimeout(timer);
      session.destroy();
      socket.destroy();
      if (error) reject(error);
      else resolve(ready);
    }
    session.on('error', (error) => done(error));
    const call = session.request({
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(sec.token ? { authorization: `Bearer ${sec.token}` } : {}),
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const noteStatus = (headers: Record<string, unknown>) => {
      if (headers['grpc-status'] === undefined) return;
      grpcStatus = String(headers['grpc-status']);
      grpcMessage = decodeURIComponent(String(headers['grpc-message'] ?? ''));
    };
    call.on('response', noteStatus);
    call.on('trailers', noteStatus);
    call.on('data', (chunk: Buffer) => chunks.push(chunk));
    call.on('error', (error) => done(error));
    call.on('end', () => {
      if (grpcStatus !== '0') {
        done(new Error(`grpc status ${grpcStatus ?? 'missing'}${grpcMessage ? `: ${grpcMessage}` : ''}`));
        return;
      }
      const body = Buffer.concat(chunks);
      const length = body.length >= 5 ? body.readUInt32BE(1) : -1;
      if (length < 0 || body.length < 5 + length) {
        done(new Error('malformed health answer'));
        return;
      }
      const { status } = HealthCheckResponse.decode(body.subarray(5, 5 + length));
      if (status === HealthCheckResponse_ServingStatus.SERVING) done(undefined, true);
      else done(new Error(`health status ${status}`));
    });
    call.end(EMPTY_REQUEST);
  });
}

export function httpHealthProbe(url: string): Probe {
  const target = new URL(url);
  return {
    description: `GET ${url}`,
    async check() {
      const socket = await connectProbeSocket(target.hostname, Number(target.port || 80), ATTEMPT_MS);
      try {
        return await new Promise<boolean>((resolve, reject) => {
          const req = request(
            target,
            { method: 'GET', timeout: ATTEMPT_MS, agent: false, createConnection: () => socket },
            (res) => {
              res.resume();
              if (res.statusCode === 200) resolve(true);
              else reject(new Error(`HTTP ${res.statusCode}`));
            },
          );
          req.on('timeout', () => req.destroy(new Error('timed out')));
          req.on('error', reject);
          req.end();
        });
      } finally {
        socket.destroy();
      }
    },
    close() {},
  };
}

export class NotReadyError extends OrlyError {
  readonly code: string = 'ORLY_NOT_READY';
}

/**
 * Polls `probe` until it succeeds. Rejects with NotReadyError after `timeoutMs` (the message
 * carries the last failure), or with the abort reason when `signal` aborts.
 */
export async function waitUntilReady(probe: Probe, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  try {
    for (;;) {
      signal?.throwIfAborted();
      try {
        if (await probe.check()) return;
      } catch (err) {
        last = (err as Error).message;
      }
      signal?.throwIfAborted();
      const left = deadline - Date.now();
      if (left <= 0) throw new NotReadyError(`${probe.description}: ${last}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(INTERVAL_MS, left));
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        }
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    probe.close();
  }
}
