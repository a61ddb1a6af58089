/**
 * Limits at the relay's edge, per client address and in total (relay.ts asks before the
 * WebSocket upgrade, handlers/dispatch.ts per message):
 *
 * - connections: ORLY_MAX_CONNECTIONS in total (else HTTP 503), ORLY_MAX_CONNECTIONS_PER_IP
 *   open at once and ORLY_MAX_UPGRADES_PER_MINUTE_PER_IP new ones (else HTTP 429 with
 *   Retry-After), refused before the upgrade;
 * - messages: token buckets per connection and per address for EVENT (AUTH counts as one: both
 *   cost a signature check) and for REQ (COUNT and NEG-OPEN count as REQs: each starts a query).
 *
 * An address is an IPv4 address or an IPv6 /64 (one host usually holds a whole /64, so
 * per-/128 limits would not limit anyone). Every table keyed by address is bounded: open
 * connections per address by the total limit (an entry lives while a connection does), the
 * buckets by KeyedBuckets (MAX_TRACKED_ADDRESSES, idle ones swept).
 */
import { isIP } from 'node:net';
import { Reasons } from '../errors.js';
import type { EdgeLimitsConfig } from './edge-config.js';
import { KeyedBuckets, type Rate, TokenBucket } from './rate-limit.js';

/** Entries per address-keyed bucket table: ~10 MB at most each, evicting the least recently used. */
const MAX_TRACKED_ADDRESSES = 65_536;

/** Retry-After (seconds) when the refusal does not say itself when to come back. */
const RETRY_AFTER_SECONDS = 10;

/** The key limits are counted under: the IPv4 address, or the /64 of an IPv6 address. */
export function addressKey(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip);
  return groups === undefined ? ip : `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function expandIpv6(address: string): string[] | undefined {
  const plain = address.split('%')[0]!.toLowerCase();
  const parse = (part: string): string[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [Number.parseInt(g, 16).toString(16)];
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const halves = plain.split('::');
  const head = parse(halves[0]!);
  const tail = halves.length > 1 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  return [...head, ...Array<string>(missing).fill('0'), ...tail];
}

/** Why an upgrade is refused: the HTTP status, when to retry, the body, and the metric label. */
export interface Refusal {
  readonly status: 429 | 503;
  readonly retryAfterSeconds: number;
  readonly reason: string;
  readonly limit: 'connections' | 'connections_per_ip' | 'upgrades_per_ip';
}

export type MessageClass = 'event' | 'req';

/** A refused message: which bucket ran dry. */
export interface MessageRefusal {
  readonly scope: 'connection' | 'address';
  readonly perSecond: number;
}

/** The per-message buckets of one connection, and those of its address. */
export class MessageLimiter {
  private readonly own: Partial<Record<MessageClass, TokenBucket>>;

  constructor(
    private readonly key: string,
    private readonly shared: Partial<Record<MessageClass, KeyedBuckets>>,
    rates: Partial<Record<MessageClass, Rate>>,
    now: number,
  ) {
    this.own = {
      event: rates.event && new TokenBucket(rates.event, now),
      req: rates.req && new TokenBucket(rates.req, now),
    };
  }

  /** Takes one token from the connection's and the address's bucket of `kind`, or says which is dry. */
  take(kind: MessageClass, now = performance.now()): MessageRefusal | undefined {
    const own = this.own[kind];
    if (own !== undefined && !own.has(now)) return { scope: 'connection', perSecond: own.rate.perSecond };
    const shared = this.shared[kind]?.bucket(this.key, now);
    if (shared !== undefined && !shared.take(now))
      return { scope: 'address', perSecond: shared.rate.perSecond };
    own?.take(now);
    return undefined;
  }
}

export class ConnectionGuard {
  private readonly openByAddress = new Map<string, number>();
  private total = 0;
  private readonly upgrades: KeyedBuckets | undefined;
  private readonly shared: Partial<Record<MessageClass, KeyedBuckets>>;

  constructor(private readonly limits: EdgeLimitsConfig) {
    const perMinute = limits.maxUpgradesPerMinutePerIp;
    this.upgrades =
      perMinute > 0
        ? new KeyedBuckets({ perSecond: perMinute / 60, burst: perMinute }, MAX_TRACKED_ADDRESSES)
        : undefined;
    this.shared = {
      event: limits.eventRatePerIp && new KeyedBuckets(limits.eventRatePerIp, MAX_TRACKED_ADDRESSES),
      req: limits.reqRatePerIp && new KeyedBuckets(limits.reqRatePerIp, MAX_TRACKED_ADDRESSES),
    };
  }

  /**
   * Before an upgrade from `ip`: undefined to let it through (then opened() when it is
   * accepted), else why not. Every attempt counts against the address's upgrade rate.
   */
  admit(ip: string, now = performance.now()): Refusal | undefined {
    const key = addressKey(ip);
    const upgrades = this.upgrades?.bucket(key, now);
    if (upgrades !== undefined && !upgrades.take(now)) {
      const max = this.limits.maxUpgradesPerMinutePerIp;
      return {
        status: 429,
        retryAfterSeconds: Math.max(1, Math.ceil(upgrades.waitMs(now) / 1000)),
        reason: Reasons.tooManyUpgrades(max),
        limit: 'upgrades_per_ip',
      };
    }
    const { maxConnections, maxConnectionsPerIp } = this.limits;
    if (maxConnections > 0 && this.total >= maxConnections)
      return {
        status: 503,
        retryAfterSeconds: RETRY_AFTER_SECONDS,
        reason: Reasons.relayFull,
        limit: 'connections',
      };
    if (maxConnectionsPerIp > 0 && (this.openByAddress.get(key) ?? 0) >= maxConnectionsPerIp)
      return {
        status: 429,
        retryAfterSeconds: RETRY_AFTER_SECONDS,
        reason: Reasons.tooManyConnections(maxConnectionsPerIp),
        limit: 'connections_per_ip',
      };
    return undefined;
  }

  /** A connection from `ip` was accepted: counts it and returns its message limiter. */
  opened(ip: string, now = performance.now()): MessageLimiter {
    const key = addressKey(ip);
    this.total++;
    this.openByAddress.set(key, (this.openByAddress.get(key) ?? 0) + 1);
    return new MessageLimiter(
      key,
      this.shared,
      { event: this.limits.eventRate, req: this.limits.reqRate },
      now,
    );
  }

  /** A connection from `ip` closed. */
  closed(ip: string): void {
    const key = addressKey(ip);
    this.total = Math.max(0, this.total - 1);
    const open = (this.openByAddress.get(key) ?? 0) - 1;
    if (open > 0) this.openByAddress.set(key, open);
    else this.openByAddress.delete(key);
  }

  /** Forgets idle buckets (called periodically; new addresses also sweep as they come). */
  sweep(now = performance.now()): void {
    this.upgrades?.sweep(now);
    this.shared.event?.sweep(now);
    this.shared.req?.sweep(now);
  }

  /** Addresses tracked across the tables (for tests and /metrics). */
  get trackedAddresses(): number {
    return (
      this.openByAddress.size +
      (this.upgrades?.size ?? 0) +
      (this.shared.event?.size ?? 0) +
      (this.shared.req?.size ?? 0)
    );
  }
}

/** The HTTP answer to a refused upgrade, given before any WebSocket exists (the transport adds Content-Length and Connection: close). */
export function refusalAnswer(refusal: Refusal): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  return {
    status: refusal.status,
    headers: {
      'Retry-After': String(refusal.retryAfterSeconds),
      'Content-Type': 'text/plain; charset=utf-8',
    },
    body: `${refusal.reason}\n`,
  };
}
