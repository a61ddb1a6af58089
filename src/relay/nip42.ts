/**
 * NIP-42 AUTH event validation (pure): kind 22242, fresh created_at, our challenge, and a
 * `relay` tag naming this relay. Host (with default ports normalised) and path must match;
 * ws/wss/http/https are treated alike, since TLS is often terminated by a proxy.
 */
import { Reasons } from '../errors.js';
import { firstTagValue, type NostrEvent } from '../protocol/event.js';
import { KIND_CLIENT_AUTH } from '../protocol/kinds.js';

const MAX_SKEW_SECONDS = 600;

export function checkAuthEvent(
  event: NostrEvent,
  challenge: string,
  relayUrl: string,
  now: number,
): string | undefined {
  if (event.kind !== KIND_CLIENT_AUTH) return Reasons.authBadKind;
  if (Math.abs(event.created_at - now) > MAX_SKEW_SECONDS) return Reasons.authStale;
  if (firstTagValue(event, 'challenge') !== challenge) return Reasons.authBadChallenge;
  const tagged = firstTagValue(event, 'relay');
  if (tagged === undefined || !sameRelay(tagged, relayUrl)) return Reasons.authBadRelay;
  return undefined;
}

const DEFAULT_PORTS: Record<string, string> = { 'ws:': '80', 'http:': '80', 'wss:': '443', 'https:': '443' };

function normalise(url: string): { host: string; path: string } | undefined {
  try {
    const u = new URL(url);
    const port = u.port === '' ? (DEFAULT_PORTS[u.protocol] ?? '') : u.port;
    const defaultish = port === '80' || port === '443';
    return {
      host: defaultish ? u.hostname.toLowerCase() : `${u.hostname.toLowerCase()}:${port}`,
      path: u.pathname.replace(/\/+$/, ''),
    };
  } catch {
    return undefined;
  }
}

export function sameRelay(a: string, b: string): boolean {
  const x = normalise(a);
  const y = normalise(b);
  return x !== undefined && y !== undefined && x.host === y.host && x.path === y.path;
}
