/**
 * The cluster endpoints a relay serves to its members (ORLY's shapes, cluster-http.ts), for
 * NIP-98 tokens signed by a member's identity only (401 without, 403 from anyone else):
 *
 *   GET /cluster/latest                    → {"serial":N,"timestamp":now}
 *   GET /cluster/events?from=&to=&limit=   → {"events":[{serial,id,timestamp}],"has_more","next_from"}
 *
 * Events are listed by serial ascending within [from, to], at most `limit`; `has_more` says the
 * range goes on, from `next_from`. With ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS off, events of
 * the restricted kinds are not listed (and members get no exemption when they read them).
 */
import type { ReplayGuard } from '../../protocol/nip98.js';
import type { SyncSource } from '../../store/event-store.js';
import { authenticatePeerRequest } from '../peer-request-auth.js';
import { errorResponse, type SyncHttpRequest, type SyncHttpResponse } from '../replication.js';
import { type EventsRangeRow, eventsRangeBody, latestBody, parseEventsRangeQuery } from './cluster-http.js';

export const LATEST_PATH = '/cluster/latest';
export const EVENTS_PATH = '/cluster/events';

export interface ClusterEndpointDeps {
  readonly store: Pick<SyncSource, 'lastSerial' | 'eventsSince'>;
  readonly members: () => Promise<ReadonlySet<string>>;
  readonly replay: ReplayGuard;
  /** Kinds left out of the listing (restricted kinds when privileged events do not propagate). */
  readonly unlisted: ReadonlySet<number>;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

export async function handleClusterRequest(
  deps: ClusterEndpointDeps,
  request: SyncHttpRequest,
): Promise<SyncHttpResponse> {
  if (request.path !== LATEST_PATH && request.path !== EVENTS_PATH) return errorResponse(404, 'Not found');
  if (request.method !== 'GET' && request.method !== 'HEAD')
    return errorResponse(405, 'Method not allowed', { Allow: 'GET' });
  const auth = await authenticatePeerRequest(request, deps.members, deps.replay);
  if (!auth.ok) return auth.response;
  const now = Math.floor(Date.now() / 1000);
  if (request.path === LATEST_PATH) {
    return { status: 200, headers: JSON_HEADERS, body: latestBody(await deps.store.lastSerial(), now) };
  }
  const query = parseEventsRangeQuery(new URLSearchParams(request.query));
  if (!query.ok) return errorResponse(400, query.error);
  const range = await listEventsRange(deps, query.from, query.to, query.limit);
  return {
    status: 200,
    headers: JSON_HEADERS,
    body: eventsRangeBody(range.rows, range.hasMore, range.nextFrom),
  };
}

export interface EventsRange {
  readonly rows: EventsRangeRow[];
  /** The range goes on beyond the last row, from nextFrom (0 when it does not). */
  readonly hasMore: boolean;
  readonly nextFrom: number;
}

/**
 * The events with serial in [from, to] ascending, at most `limit` (checked by the caller: 1 to
 * MAX_RANGE_LIMIT), unlisted kinds left out.
 */
export async function listEventsRange(
  deps: Pick<ClusterEndpointDeps, 'store' | 'unlisted'>,
  from: number,
  to: number,
  limit: number,
): Promise<EventsRange> {
  const rows: EventsRangeRow[] = [];
  let hasMore = false;
  let nextFrom = 0;
  let last = from - 1;
  // One more than the limit tells whether the range goes on; unlisted kinds are skipped but
  // still bounded by the scan (at most 4 × limit rows read per request).
  const scanCap = limit * 4;
  let scanned = 0;
  for await (const stored of deps.store.eventsSince(Math.max(0, from - 1), scanCap + 1)) {
    if (stored.serial > to) break;
    if (rows.length === limit || scanned === scanCap) {
      hasMore = true;
      nextFrom = last + 1;
      break;
    }
    scanned++;
    last = stored.serial;
    if (deps.unlisted.has(stored.kind)) continue;
    rows.push({ serial: stored.serial, id: stored.id, createdAt: stored.event.created_at });
  }
  return { rows, hasMore, nextFrom };
}
