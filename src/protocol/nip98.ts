/**
 * NIP-98 HTTP auth: verification of an `Authorization: Nostr <base64(event JSON)>` header
 * against the request it came with (method, absolute URL, body), plus a bounded replay guard.
 * Pure code, no I/O; the caller (the NIP-86 management API) rebuilds the external request URL
 * and answers 401 on any failure.
 *
 * Checks, cheapest first: header scheme and size, base64, JSON, event shape, kind 27235,
 * created_at within ±60 s, exactly one `u` tag equal to the request URL (only scheme, host,
 * default port and an empty path are normalized), exactly one `method` tag equal to the
 * method (case-insensitive), the `payload` tag (sha256 hex of the body) when required or when
 * both a body and the tag are present, the id, the BIP-340 signature, and last the replay guard.
 */
import { createHash } from 'node:crypto';
import { verifySchnorr } from '../crypto/schnorr.js';
import { checkEventShape, computeEventId, type NostrEvent, nowSeconds } from './event.js';

export const KIND_HTTP_AUTH = 27235;
/** Largest accepted Authorization header, checked before anything is decoded. */
const MAX_HEADER_LENGTH = 64 * 1024;
/** created_at may be at most this far from now, either way (the window NIP-98 suggests). */
const MAX_CLOCK_SKEW_SECONDS = 60;

export interface HttpAuthCheck {
  /** The Authorization header as received (may be undefined). */
  readonly authorization: string | undefined;
  /** The request method, e.g. 'POST' (compared case-insensitively to the event's `method` tag). */
  readonly method: string;
  /**
   * The absolute request URL as the server rebuilt it (scheme://host[:port]/path?query). The `u`
   * tag must equal it after normalizing only: lowercase scheme and host, default port removed,
   * empty path read as `/`. Path and query are compared exactly (a different query is a mismatch).
   */
  readonly url: string;
  /** The raw request body; when given (or when requirePayload), the `payload` tag must be sha256(body) hex. */
  readonly body?: Uint8Array;
  /** NIP-86 requires the payload tag (a missing body then counts as empty). */
  readonly requirePayload: boolean;
  /** Unix seconds (default now). */
  readonly now?: number;
}

export type HttpAuthResult =
  | {
      readonly ok: true;
      readonly pubkey: string;
      readonly id: string;
      /** The token's signature: what a replay guard remembers (see ReplayGuard). */
      readonly sig: string;
      readonly createdAt: number;
    }
  | { readonly ok: false; readonly reason: string };

function fail(reason: string): HttpAuthResult {
  return { ok: false, reason };
}

/**
 * Verifies a NIP-98 Authorization header for one request. `replay`, when given, is consulted
 * only after every other check passed, so a rejected token never uses up a slot.
 */
export function verifyHttpAuth(check: HttpAuthCheck, replay?: ReplayGuard): HttpAuthResult {
  const now = check.now ?? nowSeconds();
  const header = check.authorization;
  if (header === undefined || header === '') return fail('missing Authorization header');
  if (header.length > MAX_HEADER_LENGTH) return fail('Authorization header is too long');
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'nostr ') {
    return fail('Authorization scheme must be "Nostr" followed by one space');
  }
  const json = decodeBase64Utf8(header.slice(6));
  if (json === undefined) return fail('Authorization token is not valid base64 of UTF-8 text');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return fail('Authorization token is not valid JSON');
  }
  const shapeProblem = checkEventShape(value);
  if (shapeProblem !== undefined) return fail(`malformed auth event: ${shapeProblem}`);
  const event = value as NostrEvent;

  if (event.kind !== KIND_HTTP_AUTH) return fail(`auth event kind must be ${KIND_HTTP_AUTH}`);
  const skew = Math.abs(now - event.created_at);
  if (skew > MAX_CLOCK_SKEW_SECONDS) {
    return fail(`stale auth event: created_at is ${skew} s away from now`);
  }

  const u = singleTag(event, 'u');
  if (typeof u !== 'string') return fail(u.problem);
  const expectedUrl = normalizeUrl(check.url);
  if (expectedUrl === undefined || normalizeUrl(u) !== expectedUrl) {
    return fail('u tag does not match the request URL');
  }
  const method = singleTag(event, 'method');
  if (typeof method !== 'string') return fail(method.problem);
  if (method.toLowerCase() !== check.method.toLowerCase()) {
    return fail('method tag does not match the request method');
  }

  const payloadProblem = checkPayload(event, check);
  if (payloadProblem !== undefined) return fail(payloadProblem);

  if (computeEventId(event) !== event.id) return fail('auth event id does not match its content');
  if (!verifySchnorr(event.id, event.pubkey, event.sig)) return fail('auth event signature is invalid');

  if (replay !== undefined && !replay.remember(event.sig, event.created_at, now)) {
    return fail('auth event already used');
  }
  return { ok: true, pubkey: event.pubkey, id: event.id, sig: event.sig, createdAt: event.created_at };
}

/** The value of the one tag named `name`, or why there is not exactly one with a value. */
function singleTag(event: NostrEvent, name: string): string | { problem: string } {
  let value: string | undefined;
  let count = 0;
  for (const tag of event.tags) {
    if (tag[0] !== name) continue;
    count++;
    value = tag[1];
  }
  if (count === 0) return { problem: `auth event has no ${name} tag` };
  if (count > 1) return { problem: `auth event has more than one ${name} tag` };
  if (value === undefined) return { problem: `${name} tag has no value` };
  return value;
}

function checkPayload(event: NostrEvent, check: HttpAuthCheck): string | undefined {
  const tags = event.tags.filter((tag) => tag[0] === 'payload');
  if (tags.length > 1) return 'auth event has more than one payload tag';
  const tag = tags[0];
  if (tag === undefined) return check.requirePayload ? 'auth event has no payload tag' : undefined;
  if (!check.requirePayload && check.body === undefined) return undefined;
  const digest = createHash('sha256')
    .update(check.body ?? new Uint8Array(0))
    .digest('hex');
  return tag[1] === digest ? undefined : 'payload tag does not match the body';
}

const STANDARD_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const URL_SAFE_BASE64 = /^[A-Za-z0-9_-]+={0,2}$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Standard or URL-safe base64 (one alphabet, padding optional but correct when present),
 * decoded as strict UTF-8; undefined for anything else. Buffer.from alone would silently skip
 * invalid characters.
 */
function decodeBase64Utf8(token: string): string | undefined {
  if (!STANDARD_BASE64.test(token) && !URL_SAFE_BASE64.test(token)) return undefined;
  const padded = token.endsWith('=');
  if (padded ? token.length % 4 !== 0 : token.length % 4 === 1) return undefined;
  try {
    return UTF8.decode(Buffer.from(token, 'base64'));
  } catch {
    return undefined;
  }
}

const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#@]+)([/?#].*)?$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' };

/**
 * scheme://authority[rest] with the scheme and host lowercased, a default (or empty) port
 * dropped and an empty path read as `/`; path, query and fragment are kept byte for byte.
 * Undefined for anything not of that form (including userinfo): it then matches nothing.
 */
function normalizeUrl(url: string): string | undefined {
  const parts = URL_PARTS.exec(url);
  if (parts === null) return undefined;
  const scheme = parts[1]!.toLowerCase();
  let authority = parts[2]!.toLowerCase();
  const port = /:(\d*)$/.exec(authority);
  if (port !== null && (port[1] === '' || port[1] === DEFAULT_PORTS[scheme])) {
    authority = authority.slice(0, port.index);
  }
  const rest = parts[3] ?? '';
  return `${scheme}://${authority}${rest.startsWith('/') ? rest : `/${rest}`}`;
}

/**
 * Remembers the tokens seen within the window so a captured token cannot be replayed. A token is
 * known by its signature, not its event id: two tokens a signer made for the same request in the
 * same second have the same id but (BIP-340 signers use fresh auxiliary randomness) different
 * signatures, and only the key's holder can make another valid signature, so a replay of the
 * captured bytes is still caught while an honest client's second call is not refused.
 * Bounded: never grows past maxEntries; when full, the oldest remembered id is evicted first
 * (a flood of valid tokens can thus push out an id before its window ends). Expired ids are
 * dropped from the oldest end on each remember().
 */
export class ReplayGuard {
  /** id → unix second after which it is forgotten; Map order is insertion order. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowSeconds = MAX_CLOCK_SKEW_SECONDS,
    private readonly maxEntries = 100_000,
  ) {
    if (!Number.isFinite(windowSeconds) || windowSeconds < 0) {
      throw new RangeError('windowSeconds must be a non-negative number');
    }
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('maxEntries must be a positive integer');
    }
  }

  /** True the first time `id` is seen (and remembers it until createdAt + window has passed); false for a replay. */
  remember(id: string, createdAt: number, now: number): boolean {
    this.forgetExpired(now);
    const expiresAt = this.seen.get(id);
    if (expiresAt !== undefined) {
      if (expiresAt >= now) return false;
      this.seen.delete(id);
    }
    const until = createdAt + this.windowSeconds;
    if (until < now) return true; // already outside the window: nothing to remember
    while (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    this.seen.set(id, until);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Drops expired ids from the oldest end. Insertion order is close to expiry order (created_at
   * is within the clock-skew window of arrival), so an expired id behind a live one lingers at
   * most a couple of windows, and the size bound holds regardless.
   */
  private forgetExpired(now: number): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt >= now) return;
      this.seen.delete(id);
    }
  }
}
