/**
 * Connection pools of the PostgreSQL store (the `postgres` driver): bounded (the configured pool
 * size), connecting lazily, every session with synchronous_commit on (a save's reply arrives only
 * after its commit is flushed: the driver resolves a statement on ReadyForQuery, which the server
 * sends after the implicit commit) and the client encoding UTF-8. Server notices are not logged.
 */
import postgres, { type Sql } from 'postgres';
import type { PostgresStoreConfig } from './config.js';

/** Seconds to wait for a connection before a statement fails (the relay then answers `error:`). */
const CONNECT_TIMEOUT_S = 10;
/** Idle connections are closed after this many seconds (the pool refills on demand). */
const IDLE_TIMEOUT_S = 300;
/**
 * Seconds before a connection is tried again after a failed one: 0.1 doubling, at most 1 (the
 * driver's own grows to 20 s, which would keep a relay waiting that long after its database is
 * back). Statements queued meanwhile wait for it.
 */
function reconnectDelay(retries: number): number {
  return Math.min(0.1 * 2 ** retries, 1) * (0.75 + Math.random() / 4);
}

export type { Sql };

/** A pool over `url` with the store's settings. */
export function openPool(
  url: string,
  config: Pick<PostgresStoreConfig, 'poolSize' | 'tls'>,
  name: string,
): Sql {
  return postgres(url, {
    max: config.poolSize,
    ...(config.tls === undefined ? {} : { ssl: config.tls }),
    connect_timeout: CONNECT_TIMEOUT_S,
    idle_timeout: IDLE_TIMEOUT_S,
    backoff: reconnectDelay,
    onnotice: () => {},
    // No array-type lookup on each new connection: the driver runs it unobserved, and a
    // connection lost during it was an unhandled rejection. Arrays go as literals (keys.ts).
    fetch_types: false,
    connection: {
      application_name: name,
      synchronous_commit: 'on',
      client_encoding: 'UTF8',
    },
  });
}

/** A statement's error as one line (the driver's errors carry the server's message and code). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)
      ? `${error.message} (${code})`
      : error.message;
  }
  return String(error);
}

/** SQLSTATEs after which the same statement may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

/** Runs `work` again (at most `attempts` times in all) after a deadlock or serialization failure. */
export async function retrying<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
    }
  }
}
