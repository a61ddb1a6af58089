/**
 * Distributed sync's configuration (the relay in process, or orly-sync-distributed):
 *
 *   ORLY_SYNC_DISTRIBUTED_PEERS     (none)  comma-separated peer relays (http(s):// or ws(s)://)
 *   ORLY_SYNC_DISTRIBUTED_INTERVAL  30s     the serial poll of every peer (the safety net under
 *                                           the live subscriptions)
 *   ORLY_SYNC_DISTRIBUTED_LIVE      true    keep a live subscription to each peer (replication
 *                                           within a round trip; the poll still catches gaps)
 *   ORLY_RELAY_URL                          this relay's own URL (sent as relay_url; a peer list
 *                                           naming it is recognised as self without a fetch)
 */
import { boolVar, ConfigError, durationVar, type Env, readVar } from '../../config/env.js';
import { httpUrlOf } from '../identity/peer-directory.js';

export const MAX_PEERS = 100;

export interface DistributedSyncConfig {
  readonly peers: readonly string[];
  readonly intervalMs: number;
  readonly live: boolean;
  readonly relayUrl: string | undefined;
}

/** Peer URLs as http(s), normalized, deduplicated; an invalid one names `variable`. */
export function parsePeerUrls(entries: readonly string[], variable: string): string[] {
  const peers = new Set<string>();
  for (const entry of entries) {
    const text = entry.trim();
    if (text === '') continue;
    const url = httpUrlOf(text);
    if (url === undefined || url.length > 400 || new URL(url).host === '' || new URL(url).username !== '')
      throw new ConfigError(
        variable,
        `not a relay URL (http(s):// or ws(s)://): ${JSON.stringify(text).slice(0, 200)}`,
      );
    peers.add(url);
  }
  if (peers.size > MAX_PEERS) throw new ConfigError(variable, `at most ${MAX_PEERS} peers`);
  return [...peers];
}

/** A comma-separated peer list (ORLY_SYNC_DISTRIBUTED_PEERS), as parsePeerUrls. */
function parsePeerList(raw: string | undefined, variable: string): string[] {
  return parsePeerUrls((raw ?? '').split(','), variable);
}

export function loadDistributedSyncConfig(env: Env): DistributedSyncConfig {
  return {
    peers: parsePeerList(readVar(env, 'ORLY_SYNC_DISTRIBUTED_PEERS'), 'ORLY_SYNC_DISTRIBUTED_PEERS'),
    intervalMs: durationVar(env, 'ORLY_SYNC_DISTRIBUTED_INTERVAL', 30_000, 1000, 86_400_000),
    live: boolVar(env, 'ORLY_SYNC_DISTRIBUTED_LIVE', true),
    relayUrl: readVar(env, 'ORLY_RELAY_URL')?.trim() || undefined,
  };
}
