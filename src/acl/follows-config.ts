/**
 * The follows-mode variables, read by the relay (local ACL) and by orly-acl alike, so the mode
 * behaves the same in both places:
 *
 *   ORLY_FOLLOWS_THROTTLE             false  unfollowed authors may write, each EVENT delayed
 *   ORLY_FOLLOWS_THROTTLE_INCREMENT   25ms   added per EVENT to the IP's and the pubkey's accumulator
 *   ORLY_FOLLOWS_THROTTLE_MAX         60s    cap of each accumulator (at most 10m)
 *   ORLY_BOOTSTRAP_RELAYS             (none) comma-separated ws(s) URLs: where the owners' and
 *                                            admins' follow and relay lists are fetched from
 *                                            (when they published no kind 10002 with `r` tags)
 *   ORLY_FOLLOW_LIST_FREQUENCY        1h     how often they are fetched (0 = never)
 *   ORLY_RELAY_URL, ORLY_RELAY_ADDRESSES     this relay's own names, never fetched from
 *
 * Nothing is fetched unless ORLY_BOOTSTRAP_RELAYS is set: the relay dials out only when the
 * operator said where to.
 */
import { boolVar, ConfigError, durationVar, type Env, readVar } from '../config/env.js';
import { MAX_THROTTLE_DELAY_MS } from './follows-throttle.js';

export interface FollowsSettings {
  /** Undefined: no throttle, unfollowed authors are refused. */
  readonly throttle?: { readonly incrementMs: number; readonly maxMs: number };
  /** Normalized ws(s) URLs; empty: no periodic fetch. */
  readonly bootstrapRelays: readonly string[];
  /** ms between fetches; 0 = never. */
  readonly refreshIntervalMs: number;
  /** Hosts (host[:port]) of this relay's own names: never fetched from. */
  readonly ownHosts: readonly string[];
}

/** `wss://Host:443/path/` -> `wss://host/path`; undefined unless a ws(s) URL without credentials. */
export function normalizeRelayUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return undefined;
  if (url.username !== '' || url.password !== '' || url.host === '') return undefined;
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}${url.search}`;
}

/** The host[:port] of a relay URL or of an ORLY_RELAY_ADDRESSES entry (host[:port] allowed). */
function hostOf(entry: string): string | undefined {
  const normalized = normalizeRelayUrl(entry.includes('://') ? entry : `ws://${entry}`);
  return normalized === undefined ? undefined : new URL(normalized).host;
}

/** Is `url` (normalized) one of this relay's own names? */
export function isOwnRelay(url: string, ownHosts: readonly string[]): boolean {
  const host = hostOf(url);
  return host !== undefined && ownHosts.includes(host);
}

function relayListVar(env: Env, name: string): string[] {
  const raw = readVar(env, name);
  if (raw === undefined) return [];
  const out: string[] = [];
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const url = normalizeRelayUrl(part);
    if (url === undefined)
      throw new ConfigError(name, `${JSON.stringify(part.trim())} is not a ws:// or wss:// URL`);
    if (!out.includes(url)) out.push(url);
  }
  return out;
}

export function loadFollowsSettings(env: Env): FollowsSettings {
  const throttle = boolVar(env, 'ORLY_FOLLOWS_THROTTLE', false);
  const incrementMs = durationVar(env, 'ORLY_FOLLOWS_THROTTLE_INCREMENT', 25, 0, MAX_THROTTLE_DELAY_MS);
  const maxMs = durationVar(env, 'ORLY_FOLLOWS_THROTTLE_MAX', 60_000, 0, MAX_THROTTLE_DELAY_MS);
  const own = [
    readVar(env, 'ORLY_RELAY_URL') ?? '',
    ...(readVar(env, 'ORLY_RELAY_ADDRESSES') ?? '').split(','),
  ];
  const ownHosts = [...new Set(own.map((e) => (e.trim() === '' ? undefined : hostOf(e.trim()))))].filter(
    (h): h is string => h !== undefined,
  );
  return {
    ...(throttle ? { throttle: { incrementMs, maxMs } } : {}),
    bootstrapRelays: relayListVar(env, 'ORLY_BOOTSTRAP_RELAYS'),
    refreshIntervalMs: durationVar(env, 'ORLY_FOLLOW_LIST_FREQUENCY', 3_600_000, 0, 7 * 86_400_000),
    ownHosts,
  };
}
