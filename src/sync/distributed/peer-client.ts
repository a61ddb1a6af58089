/**
 * The HTTP side of polling one peer: POST /api/sync/current and /api/sync/event-ids with a
 * fresh NIP-98 token signed by our identity each, a timeout, and bounded answers (an answer over
 * MAX_ANSWER_BYTES, or one that is not the documented shape, is an error).
 */
import { httpAuthHeader } from '../identity/http-auth-header.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import { CURRENT_PATH, EVENT_IDS_PATH, MAX_RANGE } from './endpoints.js';

/**
 * A peer's serial feed as a PeerLink reads it: its current serial, and the ids of a serial range
 * (as far as `end`, which may stop short of `to`). Distributed sync and cluster replication each
 * have one (their endpoints differ, the catch-up does not).
 */
export interface PeerFeed {
  /** The widest range one ids() call may ask for. */
  readonly maxRange: number;
  current(): Promise<number>;
  ids(from: number, to: number): Promise<{ ids: string[]; end: number }>;
}

/** Distributed sync's feed: POST /api/sync/current and /api/sync/event-ids. */
export function distributedFeed(
  base: string,
  identity: RelayIdentity,
  relayUrl: string,
  timeoutMs: number,
): PeerFeed {
  const ctx: PeerRequestContext = { identity, relayUrl, timeoutMs };
  return {
    maxRange: MAX_RANGE,
    current: () => fetchCurrentSerial(ctx, base),
    ids: (from, to) => fetchEventIds(ctx, base, from, to),
  };
}

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export interface PeerRequestContext {
  readonly identity: RelayIdentity;
  readonly relayUrl: string;
  readonly timeoutMs: number;
}

async function post(ctx: PeerRequestContext, base: string, path: string, payload: object): Promise<unknown> {
  const url = new URL(path, base).toString();
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: httpAuthHeader(ctx.identity, url, 'POST', body),
    },
    body,
    signal: AbortSignal.timeout(ctx.timeoutMs),
    redirect: 'error',
  });
  const text = await res.text();
  if (text.length > MAX_ANSWER_BYTES) throw new Error(`${path}: answer over ${MAX_ANSWER_BYTES} bytes`);
  if (!res.ok) {
    let detail = text.slice(0, 200);
    try {
      detail = String((JSON.parse(text) as { error?: unknown }).error ?? detail);
    } catch {
      // not JSON: the text itself
    }
    throw new Error(`${path}: HTTP ${res.status} ${detail}`);
  }
  return JSON.parse(text) as unknown;
}

/** The peer's current serial. */
export async function fetchCurrentSerial(ctx: PeerRequestContext, base: string): Promise<number> {
  const answer = (await post(ctx, base, CURRENT_PATH, {
    node_id: ctx.identity.pubkey,
    relay_url: ctx.relayUrl,
  })) as { serial?: unknown };
  if (typeof answer.serial !== 'number' || !Number.isSafeInteger(answer.serial) || answer.serial < 0)
    throw new Error(`${CURRENT_PATH}: no valid "serial" in the answer`);
  return answer.serial;
}

/** The ids with serials in [from, to] (as far as `end`, which the peer may set below `to`). */
export async function fetchEventIds(
  ctx: PeerRequestContext,
  base: string,
  from: number,
  to: number,
): Promise<{ ids: string[]; end: number }> {
  const answer = (await post(ctx, base, EVENT_IDS_PATH, {
    node_id: ctx.identity.pubkey,
    relay_url: ctx.relayUrl,
    from,
    to,
  })) as { event_map?: unknown; to?: unknown };
  const map = answer.event_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new Error(`${EVENT_IDS_PATH}: no "event_map" object in the answer`);
  const ids = Object.keys(map).filter((id) => /^[0-9a-f]{64}$/.test(id));
  const end =
    typeof answer.to === 'number' && Number.isSafeInteger(answer.to) && answer.to >= from && answer.to <= to
      ? answer.to
      : to;
  return { ids, end };
}
