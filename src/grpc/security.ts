/**
 * Transport security shared by every gRPC server and client: optional TLS or mutual TLS and
 * an optional shared bearer token. Plaintext on 127.0.0.1 is the default.
 *
 *   ORLY_GRPC_TLS_CERT / ORLY_GRPC_TLS_KEY  this process's certificate and key (PEM files).
 *                                           A server needs both to serve TLS; a client presents
 *                                           them for mutual TLS.
 *   ORLY_GRPC_TLS_CA                        CA bundle (PEM). A server with a CA requires client
 *                                           certificates signed by it (mutual TLS); a client
 *                                           verifies the server against it.
 *   ORLY_GRPC_TLS_SERVER_NAME               name to verify in the server certificate (client side).
 *   ORLY_GRPC_TOKEN                         shared bearer token: servers require it, clients send it.
 */

import { readFileSync } from 'node:fs';
import { type ChannelCredentials, credentials, Metadata, ServerCredentials } from '@grpc/grpc-js';
import type { Env } from '../config/env.js';
import { ConfigError } from '../config/env.js';

export interface GrpcSecurity {
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly ca?: Buffer;
  readonly serverName?: string;
  readonly token?: string;
}

function readPem(env: Env, name: string): Buffer | undefined {
  const path = env[name]?.trim();
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(name, `cannot read ${path}: ${(err as Error).message}`);
  }
}

export function loadGrpcSecurity(env: Env = process.env): GrpcSecurity {
  const cert = readPem(env, 'ORLY_GRPC_TLS_CERT');
  const key = readPem(env, 'ORLY_GRPC_TLS_KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      cert ? 'ORLY_GRPC_TLS_KEY' : 'ORLY_GRPC_TLS_CERT',
      'TLS needs both a certificate and a key',
    );
  }
  const token = env.ORLY_GRPC_TOKEN?.trim() || undefined;
  if (token !== undefined && !/^[\x21-\x7e]{16,}$/.test(token)) {
    throw new ConfigError('ORLY_GRPC_TOKEN', 'must be at least 16 printable ASCII characters without spaces');
  }
  return {
    cert,
    key,
    ca: readPem(env, 'ORLY_GRPC_TLS_CA'),
    serverName: env.ORLY_GRPC_TLS_SERVER_NAME?.trim() || undefined,
    token,
  };
}

export function serverCredentials(sec: GrpcSecurity): ServerCredentials {
  if (!sec.cert || !sec.key) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    sec.ca ?? null,
    [{ cert_chain: sec.cert, private_key: sec.key }],
    !!sec.ca,
  );
}

export function channelCredentials(sec: GrpcSecurity): ChannelCredentials {
  const transport =
    sec.ca || sec.cert
      ? credentials.createSsl(sec.ca ?? null, sec.key ?? null, sec.cert ?? null)
      : credentials.createInsecure();
  if (!sec.token) return transport;
  if (!sec.ca && !sec.cert) {
    // grpc-js refuses call credentials on insecure channels: send the token as plain metadata instead.
    return transport;
  }
  const token = sec.token;
  return credentials.combineChannelCredentials(
    transport,
    credentials.createFromMetadataGenerator((_params, callback) => {
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      callback(null, md);
    }),
  );
}

/** Metadata to attach to every call (the token on plaintext channels, where call credentials are refused). */
export function callMetadata(sec: GrpcSecurity): Metadata {
  const md = new Metadata();
  if (sec.token && !sec.ca && !sec.cert) md.set('authorization', `Bearer ${sec.token}`);
  return md;
}

export function channelOptions(sec: GrpcSecurity): Record<string, string | number> {
  return {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // HTTP/2 flow-control window (stream and connection) for what this client receives: the
    // default 64 KB makes every query batch wait for a WINDOW_UPDATE round trip.
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
    ...(sec.serverName ? { 'grpc.ssl_target_name_override': sec.serverName } : {}),
  };
}
