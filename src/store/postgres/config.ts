/**
 * The PostgreSQL store's settings from the environment (the relay with ORLY_DB_TYPE=postgres).
 * An invalid value throws a ConfigError naming the variable; no message repeats a URL, since a
 * URL may carry a password.
 *
 *   ORLY_POSTGRES_URL        required   postgres://user:password@host:port/database (or postgresql://)
 *   ORLY_POSTGRES_READ_URL   unset      a streaming replica for query/count/negentropy (see read-routing.ts)
 *   ORLY_POSTGRES_POOL_SIZE  10         connections of each pool (1-1000): one for writes (and the sync and
 *                                        state roles), one for queries, so that saves never wait behind
 *                                        long queries; the replica's pool has as many; LISTEN one more
 *   ORLY_POSTGRES_TLS        from URL   off | require (encrypted, certificate not checked) |
 *                                        verify-full (certificate and host name checked); unset: the
 *                                        URL's sslmode decides (none: off)
 *   ORLY_POSTGRES_TLS_CA     unset      PEM file of the CA(s) to trust (implies verify-full)
 *   ORLY_POSTGRES_TLS_CERT, ORLY_POSTGRES_TLS_KEY   unset   PEM client certificate and key (both or neither)
 *   ORLY_MAX_INDEXED_TAGS    2000       as for LMDB: a save of an event with more tag index entries is refused
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, type Env, intVar, readVar } from '../../config/env.js';
import { DEFAULT_MAX_INDEXED_TAGS } from '../lmdb/index-keys.js';

export type PostgresTls = false | 'require' | 'verify-full' | ConnectionOptions;

export interface PostgresStoreConfig {
  readonly url: string;
  readonly readUrl?: string;
  readonly poolSize: number;
  /** undefined: as the URL's sslmode says. */
  readonly tls?: PostgresTls;
  readonly maxIndexedTags: number;
}

export const DEFAULT_POOL_SIZE = 10;

/** The store's settings; ORLY_POSTGRES_URL is required. */
export function loadPostgresConfig(env: Env = process.env): PostgresStoreConfig {
  const url = postgresUrlVar(env, 'ORLY_POSTGRES_URL');
  if (url === undefined)
    throw new ConfigError('ORLY_POSTGRES_URL', 'is required with ORLY_DB_TYPE=postgres (postgres://…)');
  const readUrl = postgresUrlVar(env, 'ORLY_POSTGRES_READ_URL');
  const tls = tlsVar(env);
  return {
    url,
    ...(readUrl === undefined ? {} : { readUrl }),
    poolSize: intVar(env, 'ORLY_POSTGRES_POOL_SIZE', DEFAULT_POOL_SIZE, 1, 1000),
    ...(tls === undefined ? {} : { tls }),
    maxIndexedTags: intVar(env, 'ORLY_MAX_INDEXED_TAGS', DEFAULT_MAX_INDEXED_TAGS, 1, 1_000_000),
  };
}

/** A postgres:// or postgresql:// URL with a host, or undefined when unset. */
function postgresUrlVar(env: Env, name: string): string | undefined {
  const raw = readVar(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a URL (expected postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new ConfigError(name, `must be a postgres:// or postgresql:// URL, not ${url.protocol}//`);
  if (url.hostname === '') throw new ConfigError(name, 'names no host');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw new ConfigError(name, 'has a database name with a "/"');
  return raw;
}

function tlsVar(env: Env): PostgresTls | undefined {
  const mode = readVar(env, 'ORLY_POSTGRES_TLS')?.toLowerCase();
  const ca = pemVar(env, 'ORLY_POSTGRES_TLS_CA');
  const cert = pemVar(env, 'ORLY_POSTGRES_TLS_CERT');
  const key = pemVar(env, 'ORLY_POSTGRES_TLS_KEY');
  if ((cert === undefined) !== (key === undefined))
    throw new ConfigError(
      cert === undefined ? 'ORLY_POSTGRES_TLS_CERT' : 'ORLY_POSTGRES_TLS_KEY',
      'ORLY_POSTGRES_TLS_CERT and ORLY_POSTGRES_TLS_KEY go together',
    );
  if (mode !== undefined && !['off', 'require', 'verify-full'].includes(mode))
    throw new ConfigError(
      'ORLY_POSTGRES_TLS',
      `must be off, require or verify-full, got ${JSON.stringify(mode)}`,
    );
  const files = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  if (mode === 'off') {
    if (Object.keys(files).length > 0)
      throw new ConfigError('ORLY_POSTGRES_TLS', 'is off, but ORLY_POSTGRES_TLS_CA/CERT/KEY are set');
    return false;
  }
  if (mode === 'require') return { ...files, rejectUnauthorized: false };
  if (mode === 'verify-full' || ca !== undefined || cert !== undefined)
    return Object.keys(files).length === 0 ? 'verify-full' : { ...files, rejectUnauthorized: true };
  return undefined;
}

function pemVar(env: Env, name: string): string | undefined {
  const path = readVar(env, name);
  if (path === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(name, `cannot read ${path}: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw new ConfigError(name, `${path} is not a PEM file`);
  return text;
}
