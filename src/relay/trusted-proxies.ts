/**
 * Which peers may speak for the client through X-Forwarded-For / -Proto / -Host: the reverse
 * proxies the operator lists in ORLY_TRUSTED_PROXIES (addresses or CIDR ranges; default the
 * loopback addresses, i.e. a Caddy or nginx on the same host). A direct client's forwarded
 * headers are ignored, so logs and NIP-42 URLs cannot be spoofed by them.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

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
export function peerAddress(req: IncomingMessage): string | undefined {
  const address = req.socket.remoteAddress;
  return address?.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Whether this request came through a trusted proxy. */
export function fromTrustedProxy(req: IncomingMessage, trusted: BlockList): boolean {
  const address = peerAddress(req);
  if (address === undefined) return false;
  const family = isIP(address);
  return family !== 0 && trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** First value of a forwarded header (comma-separated lists: the client end is first). */
export function forwardedValue(req: IncomingMessage, name: string): string | undefined {
  const raw = req.headers[name];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.split(',')[0]?.trim();
  return value === '' ? undefined : value;
}
