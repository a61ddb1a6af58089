/**
 * Who a peer relay is: the `self` of its NIP-11 document (its identity key), fetched with
 * `Accept: application/nostr+json` from the peer's http(s) base URL (a ws(s) URL is read as its
 * http(s) twin), cached for `ttlMs` (30 min) and refetched after that; a failed fetch is retried
 * no sooner than `retryMs` (1 s) later, and meanwhile the last known identity (if any) stands.
 * Bounded: documents over 64 KiB are refused, a fetch times out after `timeoutMs` (5 s), and at
 * most MAX_DIRECTORY_ENTRIES URLs are remembered.
 */
import { isHex64 } from '../../protocol/event.js';
import { VERSION } from '../../version.js';
import { normalizeRelayUrl } from '../relay-url.js';

const MAX_DOCUMENT_BYTES = 64 * 1024;
/** URLs remembered at most (the oldest is forgotten first). */
export const MAX_DIRECTORY_ENTRIES = 1000;

interface Entry {
  pubkey: string | undefined;
  fetchedAt: number;
  failedAt: number;
  pending: Promise<string | undefined> | undefined;
}

export interface PeerDirectoryOptions {
  readonly ttlMs?: number;
  readonly retryMs?: number;
  readonly timeoutMs?: number;
}

/** The canonical http(s) URL (relay-url.ts) of a relay given as ws(s) or http(s); undefined when it is not one. */
export function httpUrlOf(url: string): string | undefined {
  const parsed = normalizeRelayUrl(url);
  if (!parsed.ok) return undefined;
  if (parsed.scheme === 'ws') return `http${parsed.url.slice(2)}`;
  if (parsed.scheme === 'wss') return `https${parsed.url.slice(3)}`;
  return parsed.url;
}

/** The canonical ws(s) URL of a relay given as http(s) or ws(s); undefined when it is not one. */
export function wsUrlOf(url: string): string | undefined {
  const http = httpUrlOf(url);
  if (http === undefined) return undefined;
  return http.startsWith('https:') ? `wss${http.slice(5)}` : `ws${http.slice(4)}`;
}

export class PeerDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private readonly timeoutMs: number;

  constructor(options: PeerDirectoryOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30 * 60_000;
    this.retryMs = options.retryMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The identity of the relay at `url`, or undefined when it cannot be learned (yet). */
  async pubkeyOf(url: string): Promise<string | undefined> {
    const key = httpUrlOf(url);
    if (key === undefined) return undefined;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= MAX_DIRECTORY_ENTRIES) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
      entry = { pubkey: undefined, fetchedAt: 0, failedAt: 0, pending: undefined };
      this.entries.set(key, entry);
    }
    const now = Date.now();
    const fresh = entry.pubkey !== undefined && now - entry.fetchedAt < this.ttlMs;
    const waiting = entry.failedAt > 0 && now - entry.failedAt < this.retryMs;
    if (fresh || waiting) return entry.pubkey;
    const current = entry;
    current.pending ??= this.fetchSelf(key)
      .then(
        (pubkey) => {
          current.pubkey = pubkey;
          current.fetchedAt = Date.now();
          current.failedAt = 0;
          return pubkey;
        },
        () => {
          current.failedAt = Date.now();
          return current.pubkey;
        },
      )
      .finally(() => {
        current.pending = undefined;
      });
    return current.pending;
  }

  /** URLs remembered now. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets what is known about `url` (its next lookup fetches). */
  forget(url: string): void {
    const key = httpUrlOf(url);
    if (key !== undefined) this.entries.delete(key);
  }

  private async fetchSelf(url: string): Promise<string> {
    const res = await fetch(url, {
      headers: { Accept: 'application/nostr+json', 'User-Agent': `orly-ts/${VERSION}` },
      signal: AbortSignal.timeout(this.timeoutMs),
      redirect: 'error',
    });
    if (!res.ok) throw new Error(`NIP-11 of ${url}: HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_DOCUMENT_BYTES) throw new Error(`NIP-11 of ${url} is too large`);
    const body = await readBounded(res, MAX_DOCUMENT_BYTES);
    const doc = JSON.parse(body) as { self?: unknown };
    if (typeof doc.self !== 'string' || !isHex64(doc.self))
      throw new Error(`NIP-11 of ${url} has no valid "self"`);
    return doc.self;
  }
}

async function readBounded(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error('document too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
