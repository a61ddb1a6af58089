/**
 * Transport security shared by every gRPC server and client: optional TLS or mutual TLS and
 * an optional shared bearer token. Plaintext on 127.0.0.1 is the default.
 *
 * A server is "authenticating" when it has a token or mutual TLS: then every call that reaches
 * a handler comes from an authenticated caller. A server that is not authenticating may only
 * listen on loopback (serverExposure): anything else refuses to start unless
 * ORLY_GRPC_INSECURE=true.
 *
 *   ORLY_GRPC_TLS_CERT / ORLY_GRPC_TLS_KEY  this process's certificate and key (PEM files).
 *                                           A server needs both to serve TLS; a client presents
 *                                           them for mutual TLS.
 *   ORLY_GRPC_TLS_CA                        CA bundle (PEM). A server with a CA requires client
 *                                           certificates signed by it (mutual TLS); a client
 *                                           verifies the server against it.
 *   ORLY_GRPC_TLS_SERVER_NAME               name to verify in the server certificate (client side).
 *   ORLY_GRPC_TOKEN                         shared bearer token: servers require it, clients send it.
 *   ORLY_GRPC_INSECURE                      true: a server without token or mutual TLS may listen
 *                                           on a non-loopback address (with a loud warning).
 *   ORLY_GRPC_MAX_MESSAGE_SIZE              bytes: the largest message a server accepts and a
 *                                           client sends (default 16 MiB).
 */

import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { type ChannelCredentials, credentials, Metadata, ServerCredentials } from '@grpc/grpc-js';
import type { Env } from '../config/env.js';
import { boolVar, ConfigError, intVar, parseListen } from '../config/env.js';

/** Default of ORLY_GRPC_MAX_MESSAGE_SIZE. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** What servers send and clients receive (query batches are ~256 KB; one stored event may be larger). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface GrpcSecurity {
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly ca?: Buffer;
  readonly serverName?: string;
  readonly token?: string;
  /** Server: listen beyond loopback without token or mutual TLS (ORLY_GRPC_INSECURE). */
  readonly insecure?: boolean;
  /** Largest message a server accepts and a client sends (default DEFAULT_MAX_MESSAGE_BYTES). */
  readonly maxMessageBytes?: number;
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
    insecure: boolVar(env, 'ORLY_GRPC_INSECURE', false),
    maxMessageBytes: intVar(
      env,
      'ORLY_GRPC_MAX_MESSAGE_SIZE',
      DEFAULT_MAX_MESSAGE_BYTES,
      1024 * 1024,
      MAX_RESPONSE_BYTES,
    ),
  };
}

/** True when a server with this security authenticates every caller (token or mutual TLS). */
export function authenticatesCallers(sec: GrpcSecurity): boolean {
  return sec.token !== undefined || (sec.ca !== undefined && sec.cert !== undefined && sec.key !== undefined);
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and "localhost". Wildcards and other names are not. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * What a server about to listen on `listen` must do about authentication:
 * - `refuse` (a message naming the variables): not loopback, no token, no mutual TLS, and
 *   ORLY_GRPC_INSECURE is not set;
 * - `warn`: it will run without authentication (loopback, or overridden by ORLY_GRPC_INSECURE);
 * - neither: callers are authenticated.
 */
export function serverExposure(
  name: string,
  listen: string,
  sec: GrpcSecurity,
): { readonly refuse?: string; readonly warn?: string } {
  if (authenticatesCallers(sec)) return {};
  const { host } = parseListen(listen, 'listen');
  const how =
    'set ORLY_GRPC_TOKEN (on it and its clients), or mutual TLS (ORLY_GRPC_TLS_CERT, ORLY_GRPC_TLS_KEY and ORLY_GRPC_TLS_CA)';
  if (isLoopbackHost(host)) {
    return {
      warn: `${name} listens on ${listen} without authentication: any local process can call it, and it trusts none of them (no admin calls; orly-db verifies signatures); ${how}`,
    };
  }
  if (sec.insecure) {
    return {
      warn: `ORLY_GRPC_INSECURE=true: ${name} listens on ${listen}, beyond loopback, WITHOUT AUTHENTICATION: anyone who reaches this port can call it; ${how}`,
    };
  }
  return {
    refuse: `${name} would listen on ${listen} (not loopback) without authentication: ${how}, or listen on 127.0.0.1; ORLY_GRPC_INSECURE=true runs it open anyway`,
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

/**
 * Throws a ConfigError naming `variable` (the listen variable, or ORLY_GRPC_TOKEN) when
 * serverExposure refuses; returns its warning, if any.
 */
export function checkServerExposure(
  name: string,
  listen: string,
  sec: GrpcSecurity,
  variable = 'ORLY_GRPC_TOKEN',
): string | undefined {
  const exposure = serverExposure(name, listen, sec);
  if (exposure.refuse !== undefined) throw new ConfigError(variable, exposure.refuse);
  return exposure.warn;
}

/** Receive and send limits of a server. */
export function serverMessageLimits(sec: GrpcSecurity): Record<string, number> {
  return {
    'grpc.max_receive_message_length': sec.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_RESPONSE_BYTES,
  };
}

export function channelOptions(sec: GrpcSecurity): Record<string, string | number> {
  return {
    'grpc.max_receive_message_length': MAX_RESPONSE_BYTES,
    'grpc.max_send_message_length': sec.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // HTTP/2 flow-control window (stream and connection) for what this client receives: the
    // default 64 KB makes every query batch wait for a WINDOW_UPDATE round trip.
    'grpc-node.flow_control_window': 8 * 1024 * 1024,
    ...(sec.serverName ? { 'grpc.ssl_target_name_override': sec.serverName } : {}),
  };
}
