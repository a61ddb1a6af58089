/**
 * The names a client may put in a NIP-42 `relay` tag, per connection. A relay in the middle
 * (one the victim authenticates to, which forwards our challenge and replays the signed AUTH to
 * us) can choose any Host header, so the Host is never believed on its own:
 *
 * - The operator's names: ORLY_RELAY_URL and ORLY_RELAY_ADDRESSES (ws:// or wss:// URLs, or
 *   host[:port]). When any is configured, the tag must name one of them, whatever the request's
 *   Host or X-Forwarded-Host says (a trusted proxy's forwarded host adds nothing: if it is not one
 *   of them it is refused, if it is, it was already accepted).
 * - Nothing configured: the relay does not know its public name. Only a client on this machine
 *   connecting directly (a loopback peer, no X-Forwarded-* or Forwarded header, and a Host that
 *   is a loopback name with the port the relay listens on, e.g. ws://localhost:3334) may
 *   authenticate, naming that URL; everyone else's AUTH gets `restricted:`. `npm start` with a
 *   local client keeps working; a public relay must say which name it is reached by.
 */
import { isIP } from 'node:net';
import { relayKey } from './nip42.js';
import type { RequestHead } from './transport/http-exchange.js';
import { isDirectLocal } from './trusted-proxies.js';

/**
 * Parses one ORLY_RELAY_ADDRESSES entry (a ws:// or wss:// URL, or host[:port]) into a URL;
 * throws an Error saying what is wrong.
 */
export function parseRelayAddress(entry: string): string {
  const text = entry.includes('://') ? entry : `ws://${entry}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${JSON.stringify(entry)} is neither a ws:// or wss:// URL nor host[:port]`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new Error(`${JSON.stringify(entry)}: only ws:// and wss:// URLs (or host[:port])`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw new Error(`${JSON.stringify(entry)}: no user, query or fragment`);
  if (!entry.includes('://') && url.pathname !== '/')
    throw new Error(`${JSON.stringify(entry)}: a path needs a ws:// or wss:// URL`);
  if (relayKey(url.href) === undefined) throw new Error(`${JSON.stringify(entry)} is not a usable address`);
  return url.href;
}

function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || (isIP(h) === 4 && h.startsWith('127.'));
}

/**
 * The URLs this request's connection may name in an AUTH `relay` tag: the configured ones, or,
 * with none configured, the local URL of a direct client on this machine; else none.
 */
export function authRelayUrls(
  req: RequestHead,
  configured: readonly string[],
  listeningPort: number,
): readonly string[] {
  if (configured.length > 0) return configured;
  if (!isDirectLocal(req)) return [];
  const host = req.headers.host;
  if (host === undefined || host === '') return [];
  let url: URL;
  try {
    url = new URL(`ws://${host}/`);
  } catch {
    return [];
  }
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '') return [];
  if (!isLoopbackName(url.hostname) || Number(url.port || 80) !== listeningPort) return [];
  return [url.href];
}

/** The absolute http(s) URLs of this request on the relay's own names (its ws(s) URLs, as http(s), with the request's path). */
export function managementUrls(req: RequestHead, relayUrls: readonly string[]): string[] {
  return relayUrls.map((ws) => {
    const url = new URL(ws);
    return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}${req.url}`;
  });
}
