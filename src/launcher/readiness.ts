/**
 * Readiness probes: is a started service ready to serve?
 *   - grpc: grpc.health.v1 Health/Check answers SERVING (every ORLY TS gRPC service registers
 *     it; see src/grpc/server.ts). Dialled with the same transport security as the services
 *     (TLS / mTLS / token from ORLY_GRPC_*).
 *   - http: GET <url> answers 200 (the relay's /health).
 * `waitUntilReady` polls every 250 ms (each attempt bounded to 1 s) until success, the timeout,
 * or the abort signal (the launcher aborts when the child exits or a stop is requested).
 */

import { request } from 'node:http';
import { OrlyError } from '../errors.js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../gen/grpc/health/v1/health.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../grpc/security.js';

export interface Probe {
  /** For messages, e.g. "grpc health at 127.0.0.1:50051". */
  readonly description: string;
  /** One attempt: resolves true when ready; false or a rejection means "not yet". */
  check(): Promise<boolean>;
  close(): void;
}

const ATTEMPT_MS = 1000;
const INTERVAL_MS = 250;

export function grpcHealthProbe(address: string, security: GrpcSecurity): Probe {
  let client: InstanceType<typeof HealthClient> | undefined;
  return {
    description: `grpc health at ${address}`,
    check() {
      client ??= new HealthClient(address, channelCredentials(security), {
        ...channelOptions(security),
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 500,
      });
      const c = client;
      return new Promise<boolean>((resolve, reject) =>
        c.check(
          { service: '' },
          callMetadata(security),
          { deadline: new Date(Date.now() + ATTEMPT_MS) },
          (err, res) => {
            if (err) reject(new Error(err.details || err.message));
            else if (res.status === HealthCheckResponse_ServingStatus.SERVING) resolve(true);
            else reject(new Error(`health status ${res.status}`));
          },
        ),
      );
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}

export function httpHealthProbe(url: string): Probe {
  return {
    description: `GET ${url}`,
    check() {
      return new Promise<boolean>((resolve, reject) => {
        const req = request(url, { method: 'GET', timeout: ATTEMPT_MS, agent: false }, (res) => {
          res.resume();
          if (res.statusCode === 200) resolve(true);
          else reject(new Error(`HTTP ${res.statusCode}`));
        });
        req.on('timeout', () => req.destroy(new Error('timed out')));
        req.on('error', reject);
        req.end();
      });
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
