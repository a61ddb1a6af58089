/**
 * A cluster member's serial feed, as PeerLink reads it: GET /cluster/latest and
 * /cluster/events?from=&to=&limit=1000, each with a fresh NIP-98 token signed by our identity;
 * answers bounded and checked for ORLY's shapes (anything else is an error).
 */

import type { PeerFeed } from '../distributed/peer-client.js';
import { httpAuthHeader } from '../identity/http-auth-header.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import { EVENTS_PATH, LATEST_PATH } from './cluster-endpoints.js';
import { DEFAULT_RANGE_LIMIT } from './cluster-http.js';

const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

async function get(
  identity: RelayIdentity,
  url: string,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    headers: { Authorization: httpAuthHeader(identity, url, 'GET') },
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  const text = await res.text();
  if (text.length > MAX_ANSWER_BYTES) throw new Error(`${new URL(url).pathname}: answer too large`);
  if (!res.ok) throw new Error(`${new URL(url).pathname}: HTTP ${res.status} ${text.slice(0, 200)}`);
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`${new URL(url).pathname}: not a JSON object`);
  return value as Record<string, unknown>;
}

const isSerial = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function clusterFeed(base: string, identity: RelayIdentity, timeoutMs: number): PeerFeed {
  return {
    // The peer pages by count; one call reads one page of the asked range.
    maxRange: Number.MAX_SAFE_INTEGER,
    async current() {
      const answer = await get(identity, new URL(LATEST_PATH, base).toString(), timeoutMs);
      if (!isSerial(answer.serial)) throw new Error(`${LATEST_PATH}: no valid "serial"`);
      return answer.serial;
    },
    async ids(from, to) {
      const url = new URL(EVENTS_PATH, base);
      url.search = new URLSearchParams({
        from: String(from),
        to: String(to),
        limit: String(DEFAULT_RANGE_LIMIT),
      }).toString();
      const answer = await get(identity, url.toString(), timeoutMs);
      if (!Array.isArray(answer.events)) throw new Error(`${EVENTS_PATH}: no "events" array`);
      const ids: string[] = [];
      for (const row of answer.events as unknown[]) {
        const id = (row as { id?: unknown } | null)?.id;
        if (typeof id === 'string' && /^[0-9a-f]{64}$/.test(id)) ids.push(id);
      }
      if (answer.has_more === true) {
        const next = answer.next_from;
        if (!isSerial(next) || next <= from || next > to + 1)
          throw new Error(`${EVENTS_PATH}: bad "next_from"`);
        return { ids, end: next - 1 };
      }
      return { ids, end: to };
    },
  };
}
