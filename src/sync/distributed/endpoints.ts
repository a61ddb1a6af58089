/**
 * The distributed-sync endpoints a relay serves to its peers (ORLY's shapes, §5.1 of the IPC
 * notes), both POST with a JSON body and a NIP-98 token from a configured peer:
 *
 *   POST /api/sync/current    {"node_id","relay_url"}             → {"node_id","relay_url","serial"}
 *   POST /api/sync/event-ids  {"node_id","relay_url","from","to"} → {"event_map":{"<id>":<serial>}}
 *
 * `from`..`to` is inclusive and at most MAX_RANGE serials wide (a wider or inverted range: 400);
 * the map holds at most MAX_IDS entries (the range is then cut where they end; the caller asks
 * again from there: `to` in the answer says where this one ended). A caller whose node_id is
 * ours: 400 "Cannot sync with self". Other methods 405, bodies over 64 KiB 413, bad JSON 400.
 */
import type { ReplayGuard } from '../../protocol/nip98.js';
import type { SyncSource } from '../../store/event-store.js';
import { authenticatePeerRequest } from '../peer-request-auth.js';
import { errorResponse, jsonResponse, type SyncHttpRequest, type SyncHttpResponse } from '../replication.js';

export const CURRENT_PATH = '/api/sync/current';
export const EVENT_IDS_PATH = '/api/sync/event-ids';
export const MAX_RANGE = 100_000;
export const MAX_IDS = 10_000;
const MAX_BODY = 64 * 1024;

export interface EndpointDeps {
  readonly store: Pick<SyncSource, 'lastSerial' | 'eventsSince'>;
  readonly nodeId: string;
  readonly relayUrl: string;
  /** The identities of the configured peers. */
  readonly authorized: () => Promise<ReadonlySet<string>>;
  readonly replay: ReplayGuard;
}

function serialField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

export async function handleDistributedRequest(
  deps: EndpointDeps,
  request: SyncHttpRequest,
): Promise<SyncHttpResponse> {
  if (request.path !== CURRENT_PATH && request.path !== EVENT_IDS_PATH)
    return errorResponse(404, 'Not found');
  if (request.method !== 'POST') return errorResponse(405, 'Method not allowed', { Allow: 'POST' });
  if (request.body.length > MAX_BODY) return errorResponse(413, `body over ${MAX_BODY} bytes`);
  const auth = await authenticatePeerRequest(request, deps.authorized, deps.replay);
  if (!auth.ok) return auth.response;
  let body: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(Buffer.from(request.body).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    body = value as Record<string, unknown>;
  } catch {
    return errorResponse(400, 'Invalid JSON');
  }
  if (body.node_id === deps.nodeId) return errorResponse(400, 'Cannot sync with self');
  if (request.path === CURRENT_PATH) {
    return jsonResponse(200, {
      node_id: deps.nodeId,
      relay_url: deps.relayUrl,
      serial: await deps.store.lastSerial(),
    });
  }
  const from = serialField(body.from);
  const to = serialField(body.to);
  if (from === undefined || to === undefined)
    return errorResponse(400, '"from" and "to" must be non-negative integers');
  const problem = rangeProblem(from, to);
  if (problem !== undefined) return errorResponse(400, problem);
  const { eventMap, end } = await eventIdsInRange(deps.store, from, to, MAX_IDS);
  return jsonResponse(200, { event_map: eventMap, to: end });
}

/** Why [from, to] is not a range this relay answers (inverted, or wider than MAX_RANGE); undefined when it is. */
export function rangeProblem(from: number, to: number): string | undefined {
  if (to < from) return '"to" is below "from"';
  if (to - from >= MAX_RANGE) return `at most ${MAX_RANGE} serials per request`;
  return undefined;
}

/**
 * The ids of the events with serials in [from, to] (a range rangeProblem accepts), at most
 * `maxIds` of them: `end` is the last serial covered (`to`, or where the map filled up).
 */
export async function eventIdsInRange(
  store: Pick<SyncSource, 'eventsSince'>,
  from: number,
  to: number,
  maxIds: number,
): Promise<{ eventMap: Record<string, number>; end: number }> {
  const eventMap: Record<string, number> = {};
  let count = 0;
  let end = to;
  for await (const stored of store.eventsSince(Math.max(0, from - 1), maxIds)) {
    if (stored.serial > to) break;
    eventMap[stored.id] = stored.serial;
    count++;
    if (count === maxIds) {
      end = stored.serial;
      break;
    }
  }
  return { eventMap, end };
}
