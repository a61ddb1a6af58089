/**
 * Which peers may speak for the client through X-Forwarded-For: the reverse proxies the operator
 * lists in ORLY_TRUSTED_PROXIES (addresses or CIDR ranges; default the loopback addresses, i.e. a
 * Caddy or nginx on the same host). A direct client's forwarded headers are ignored, so the
 * address in logs and per-IP limits cannot be spoofed by them. (The NIP-42 relay URL never comes
 * from forwarded headers: relay-address.ts.)
 */
import { BlockList, isIP } from 'node:net';
import type { RequestHead } from './transport/http-exchange.js';

export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['127.0.0.0/8', '::1'];

/** Builds the list; throws Error naming the bad entry. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || extra !== undefined) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address!, type);
      continue;
    }
    const bits = Number(prefix);
    if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128))
      throw new Error(`"${entry}" has a bad prefix length`);
    list.addSubnet(address!, bits, type);
  }
  return list;
}

/** The socket peer's address, IPv4-mapped IPv6 addresses written as IPv4. */
export function peerAddress(req: Pick<RequestHead, 'remoteAddress'>): string | undefined {
  const address = req.remoteAddress;
  return address?.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrusted(address: string, trusted: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** One X-Forwarded-For entry as an address (brackets and a port dropped, IPv4-mapped as IPv4), else undefined. */
function forwardedAddress(entry: string): string | undefined {
  let s = entry;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return undefined;
    s = s.slice(1, end);
  } else if (/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  if (s.toLowerCase().startsWith('::ffff:') && isIP(s.slice(7)) === 4) return s.slice(7);
  return isIP(s) === 0 ? undefined : s;
}

/**
 * The client's address. From a trusted proxy: the rightmost X-Forwarded-For entry that is not
 * itself a trusted proxy (each proxy appends the peer it saw, so entries left of that one are
 * whatever the client chose to send); if every entry is a trusted proxy, the leftmost; if the
 * nearest untrusted entry is not an address, the nearest trusted hop. From anyone else: the
 * peer's address, whatever headers it sent.
 */
export function clientAddress(
  req: Pick<RequestHead, 'remoteAddress' | 'headers'>,
  trusted: BlockList,
): string {
  const peer = peerAddress(req);
  if (peer === undefined) return 'unknown';
  if (!isTrusted(peer, trusted)) return peer;
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  let nearest = peer;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!.trim();
    if (entry === '') continue;
    const address = forwardedAddress(entry);
    if (address === undefined) return nearest;
    if (!isTrusted(address, trusted)) return address;
    nearest = address;
  }
  return nearest;
}

/** Headers a proxy adds: a request carrying one did not come straight from a local client. */
const FORWARDED_HEADERS = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
];

/**
 * Whether the request comes straight from a client on this machine: a loopback peer that sent no
 * forwarded header (a proxy on this host, e.g. Caddy, adds X-Forwarded-For for its clients).
 */
export function isDirectLocal(req: Pick<RequestHead, 'remoteAddress' | 'headers'>): boolean {
  const peer = peerAddress(req);
  const loopback = peer !== undefined && (isIP(peer) === 4 ? peer.startsWith('127.') : peer === '::1');
  return loopback && !FORWARDED_HEADERS.some((name) => req.headers[name] !== undefined);
}
