/**
 * NIP-42 AUTH event validation (pure): kind 22242, fresh created_at, our challenge, and a
 * `relay` tag naming this relay, i.e. one of the URLs the connection accepts (relay-address.ts
 * decides which). Host (case-insensitive, default ports normalised) and path (trailing slash
 * ignored) must match; ws/wss/http/https are treated alike, since TLS is often terminated by a
 * proxy. With no acceptable URL at all (no public address configured and not a local client),
 * every AUTH is refused with `restricted:`.
 */
import { Reasons } from '../errors.js';
import { firstTagValue, type NostrEvent } from '../protocol/event.js';
import { KIND_CLIENT_AUTH } from '../protocol/kinds.js';

const MAX_SKEW_SECONDS = 600;

export function checkAuthEvent(
  event: NostrEvent,
  challenge: string,
  relayUrls: readonly string[],
  now: number,
): string | undefined {
  if (event.kind !== KIND_CLIENT_AUTH) return Reasons.authBadKind;
  if (Math.abs(event.created_at - now) > MAX_SKEW_SECONDS) return Reasons.authStale;
  if (firstTagValue(event, 'challenge') !== challenge) return Reasons.authBadChallenge;
  if (relayUrls.length === 0) return Reasons.authNoPublicUrl;
  const tagged = firstTagValue(event, 'relay');
  if (tagged === undefined || !relayUrls.some((url) => sameRelay(tagged, url))) return Reasons.authBadRelay;
  return undefined;
}

const DEFAULT_PORTS: Record<string, string> = { 'ws:': '80', 'http:': '80', 'wss:': '443', 'https:': '443' };

/** "host[:port]/path" of a URL, lower-case host, default ports and trailing slashes dropped. */
export function relayKey(url: string): string | undefined {
  try {
    const u = new URL(url);
    const port = u.port === '' ? (DEFAULT_PORTS[u.protocol] ?? '') : u.port;
    const defaultish = port === '80' || port === '443';
    const host = defaultish ? u.hostname.toLowerCase() : `${u.hostname.toLowerCase()}:${port}`;
    return `${host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

export function sameRelay(a: string, b: string): boolean {
  const x = relayKey(a);
  return x !== undefined && x === relayKey(b);
}
