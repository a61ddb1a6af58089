/**
 * Configuration of orly-sync-negentropy from its environment; every error is a ConfigError
 * naming the variable (the CLI exits 2).
 *
 *   ORLY_SYNC_NEGENTROPY_LISTEN        host:port (default 127.0.0.1:50064; port 0 = any)
 *   ORLY_SYNC_NEGENTROPY_DB_TYPE       grpc (the only backend)
 *   ORLY_SYNC_NEGENTROPY_DB_SERVER     orly-db address (default 127.0.0.1:50051)
 *   ORLY_SYNC_NEGENTROPY_PEERS         comma-separated ws:// / wss:// peer relays
 *   ORLY_SYNC_NEGENTROPY_INTERVAL      background sync interval: 60s, 5m or seconds (default 60s)
 *   ORLY_SYNC_NEGENTROPY_FRAME_SIZE    max bytes of one NEG-MSG we send (default 60000; 0 or >= 4096)
 *   ORLY_SYNC_NEGENTROPY_DIRECTION     down | up | both | none for background syncs (default down)
 *   ORLY_SYNC_NEGENTROPY_FILTER_KINDS / _AUTHORS / _SINCE / _UNTIL   background sync filter
 *   ORLY_SYNC_NEGENTROPY_FILTER        the same as one NIP-01 JSON filter (ORLY's form; not with the above)
 *   ORLY_SYNC_NEGENTROPY_TIMEOUT       per-phase inactivity timeout (default 30s)
 *   ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT  NIP-77 sessions routed from relays are freed after
 *                                      this long idle (default 5m)
 *   ORLY_SYNC_NEGENTROPY_MAX_SESSIONS  NIP-77 sessions routed from relays, per relay connection
 *                                      (default 8, 1..1000)
 *   ORLY_SYNC_NEGENTROPY_ID_SIZE       accepted for compatibility with ORLY's seed (an integer
 *                                      1..32) but ignored: NIP-77 v1 exchanges full 32-byte ids,
 *                                      and truncated ids would not reconcile with strfry or
 *                                      nostr-tools; any value but 32 gets one startup warning
 *   ORLY_SYNC_NEGENTROPY_LOG_LEVEL     log level (default ORLY_LOG_LEVEL, else info)
 */

import type { Env } from '../../config/env.js';
import {
  ConfigError,
  durationVar,
  intVar,
  type LogLevel,
  listenVar,
  logLevelVar,
  readVar as read,
} from '../../config/env.js';
import { ID_SIZE, MIN_FRAME_SIZE_LIMIT } from '../../negentropy/codec/types.js';
import { type NormalizedFilter, parseFilter, parseFilterText } from '../../protocol/filter.js';
import type { Direction } from '../../sync/direction.js';
import { peerUrlProblem, type SyncServiceConfig } from '../../sync/negentropy-sync-service.js';

const P = 'ORLY_SYNC_NEGENTROPY';

export interface NegentropyServiceConfig {
  readonly listen: string;
  readonly dbServer: string;
  readonly logLevel: LogLevel;
  readonly sync: SyncServiceConfig;
  /** ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT in milliseconds. */
  readonly negSessionTimeoutMs: number;
  /** ORLY_SYNC_NEGENTROPY_MAX_SESSIONS. */
  readonly negMaxSessions: number;
  /** ORLY_SYNC_NEGENTROPY_ID_SIZE as given (default 32); never used, see idSizeWarning. */
  readonly idSize: number;
}

/** The startup warning for an ORLY_SYNC_NEGENTROPY_ID_SIZE other than 32, if any. */
export function idSizeWarning(config: Pick<NegentropyServiceConfig, 'idSize'>): string | undefined {
  if (config.idSize === ID_SIZE) return undefined;
  return (
    `${P}_ID_SIZE=${config.idSize} is ignored: NIP-77 (negentropy protocol v1) exchanges full ` +
    `${ID_SIZE}-byte ids`
  );
}

/** ORLY's single JSON variable (ORLY_SYNC_NEGENTROPY_FILTER), when set: the whole background filter. */
function jsonFilterOf(env: Env, text: string): NormalizedFilter {
  const name = `${P}_FILTER`;
  for (const part of ['KINDS', 'AUTHORS', 'SINCE', 'UNTIL']) {
    if (read(env, `${name}_${part}`) !== undefined)
      throw new ConfigError(name, `give either ${name} (JSON) or ${name}_${part} and its siblings, not both`);
  }
  const parsed = parseFilterText(text);
  if (!parsed.ok)
    throw new ConfigError(name, parsed.notJson ? 'must be a JSON object (a NIP-01 filter)' : parsed.reason);
  if (parsed.filter.limit !== undefined) throw new ConfigError(name, '"limit" is not supported by sync');
  return parsed.filter;
}

function filterOf(env: Env): NormalizedFilter {
  const whole = read(env, `${P}_FILTER`);
  if (whole !== undefined) return jsonFilterOf(env, whole);
  const json: Record<string, unknown> = {};
  const kinds = read(env, `${P}_FILTER_KINDS`);
  if (kinds !== undefined) {
    json.kinds = kinds.split(',').map((k) => {
      const s = k.trim();
      if (!/^\d+$/.test(s) || Number(s) > 65535)
        throw new ConfigError(`${P}_FILTER_KINDS`, `invalid kind ${JSON.stringify(s)}`);
      return Number(s);
    });
  }
  const authors = read(env, `${P}_FILTER_AUTHORS`);
  if (authors !== undefined) {
    json.authors = authors.split(',').map((a) => {
      const s = a.trim().toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(s))
        throw new ConfigError(`${P}_FILTER_AUTHORS`, `expected 64-hex pubkeys, got ${JSON.stringify(s)}`);
      return s;
    });
  }
  if (read(env, `${P}_FILTER_SINCE`) !== undefined) json.since = intVar(env, `${P}_FILTER_SINCE`, 0, 0);
  if (read(env, `${P}_FILTER_UNTIL`) !== undefined) json.until = intVar(env, `${P}_FILTER_UNTIL`, 0, 0);
  const parsed = parseFilter(json);
  if (!parsed.ok) throw new ConfigError(`${P}_FILTER_KINDS`, parsed.reason);
  return parsed.filter;
}

export function loadNegentropyServiceConfig(env: Env = process.env): NegentropyServiceConfig {
  const listen = listenVar(env, `${P}_LISTEN`, '127.0.0.1:50064');
  const dbType = (read(env, `${P}_DB_TYPE`) ?? 'grpc').toLowerCase();
  if (dbType !== 'grpc')
    throw new ConfigError(`${P}_DB_TYPE`, `only "grpc" is supported, got ${JSON.stringify(dbType)}`);
  const dbServer = listenVar(env, `${P}_DB_SERVER`, '127.0.0.1:50051');
  const peers: string[] = [];
  for (const part of (read(env, `${P}_PEERS`) ?? '').split(',')) {
    const url = part.trim();
    if (url === '') continue;
    const problem = peerUrlProblem(url);
    if (problem) throw new ConfigError(`${P}_PEERS`, problem);
    if (!peers.includes(url)) peers.push(url);
  }
  const frameSizeLimit = intVar(env, `${P}_FRAME_SIZE`, 60_000, 0);
  if (frameSizeLimit !== 0 && frameSizeLimit < MIN_FRAME_SIZE_LIMIT)
    throw new ConfigError(
      `${P}_FRAME_SIZE`,
      `must be 0 or >= ${MIN_FRAME_SIZE_LIMIT}, got ${frameSizeLimit}`,
    );
  const dir = (read(env, `${P}_DIRECTION`) ?? 'down').toLowerCase();
  if (dir !== 'down' && dir !== 'up' && dir !== 'both' && dir !== 'none')
    throw new ConfigError(`${P}_DIRECTION`, `must be down, up, both or none, got ${JSON.stringify(dir)}`);
  return {
    listen,
    dbServer,
    logLevel: logLevelVar(env, [`${P}_LOG_LEVEL`, 'ORLY_LOG_LEVEL']),
    negSessionTimeoutMs: durationVar(env, `${P}_SESSION_TIMEOUT`, 300_000, 100, 86_400_000),
    negMaxSessions: intVar(env, `${P}_MAX_SESSIONS`, 8, 1, 1000),
    idSize: intVar(env, `${P}_ID_SIZE`, ID_SIZE, 1, ID_SIZE),
    sync: {
      peers,
      intervalMs: durationVar(env, `${P}_INTERVAL`, 60_000, 1000, 7 * 86_400_000),
      frameSizeLimit,
      filter: filterOf(env),
      dir: dir as Direction,
      timeoutMs: durationVar(env, `${P}_TIMEOUT`, 30_000, 100, 3_600_000),
    },
  };
}
