/**
 * The adapter from ClusterSync to orlysync.cluster.v1.ClusterSyncService: every RPC answered from
 * the running ClusterSync over the service's store.
 *
 * - HandleLatestSerial / HandleEventsRange: the relay's forwarded HTTP request, answered by
 *   ClusterSync.handleHttp as the in-process relay would (NIP-98 from a member, §5.2 shapes, 4xx
 *   for bad input). The RPC names the endpoint: an empty `path` is that endpoint's, another
 *   endpoint's path is a 404. Without `request_urls` (the relay has no public URL) no NIP-98 `u`
 *   can match: 401.
 * - Start / Stop: polling resumed / paused; `running` says which.
 * - UpdateMembership: the operator's override (until the next membership event); an invalid list
 *   is refused in `error`, the members unchanged.
 * - HandleMembershipEvent: `event_json` parsed and checked; the outcome in its fields.
 * - GetEventsInRange: inverted range or a limit beyond 10,000: INVALID_ARGUMENT.
 * Unexpected failures are gRPC errors: UNAVAILABLE when orly-db is unreachable, else INTERNAL.
 */
import { type ServerUnaryCall, type ServiceError, type sendUnaryData, status } from '@grpc/grpc-js';
import type { ClusterMember, ClusterSyncServiceServer } from '../../gen/orlysync/cluster/v1/cluster.js';
import type { HTTPRequest, HTTPResponse } from '../../gen/orlysync/common/v1/common.js';
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import { EVENTS_PATH, LATEST_PATH } from '../../sync/cluster/cluster-endpoints.js';
import { type ClusterMemberStatus, ClusterRangeError } from '../../sync/cluster/cluster-replication.js';
import type { ClusterSync } from '../../sync/cluster/cluster-sync.js';

function memberOf(m: ClusterMemberStatus): ClusterMember {
  return {
    httpUrl: m.url,
    websocketUrl: m.wsUrl,
    lastSerial: m.lastSerial,
    lastPoll: m.lastPoll,
    status: m.status,
    errorCount: m.errorCount,
    pubkey: m.pubkey,
    lag: m.lag,
    lastError: m.lastError,
    live: m.live,
  };
}

function grpcError(err: unknown): Partial<ServiceError> {
  if (err instanceof ClusterRangeError) return { code: status.INVALID_ARGUMENT, details: err.message };
  const details = err instanceof Error ? err.message : String(err);
  // orly-db unreachable (GrpcEventStore's DatabaseCallError carries the gRPC status): retry later.
  const cause = (err as { status?: unknown }).status;
  const unavailable = cause === status.UNAVAILABLE || cause === status.DEADLINE_EXCEEDED;
  return { code: unavailable ? status.UNAVAILABLE : status.INTERNAL, details };
}

/** A unary handler from an async function: its result, or its error as a gRPC status. */
function unary<Req, Res>(
  logger: Logger,
  name: string,
  handle: (request: Req) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    handle(call.request).then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (!(err instanceof ClusterRangeError))
          logger.warn({ rpc: name, err: (err as Error).message ?? String(err) }, 'RPC failed');
        callback(grpcError(err));
      },
    );
  };
}

async function forward(sync: ClusterSync, path: string, req: HTTPRequest): Promise<HTTPResponse> {
  const answer =
    req.path !== '' && req.path !== path
      ? {
          status: 404,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ error: 'Not found' }),
        }
      : await sync.handleHttp({
          method: req.method.toUpperCase(),
          path,
          query: req.queryString,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])),
          body: req.body,
          remoteAddr: req.remoteAddr,
          requestUrls: req.requestUrls,
        });
  return {
    statusCode: answer.status,
    headers: { ...answer.headers },
    body: Buffer.from(answer.body, 'utf8'),
  };
}

function parseEvent(json: string): NostrEvent | string {
  try {
    return JSON.parse(json) as NostrEvent;
  } catch {
    return 'invalid: event_json is not JSON';
  }
}

export function clusterService(
  sync: ClusterSync,
  isReady: () => boolean,
  logger: Logger,
): ClusterSyncServiceServer {
  return {
    ready: (_call, callback) => callback(null, { ready: isReady() }),
    start: unary(logger, 'Start', async () => ({ running: await sync.setPolling(true) })),
    stop: unary(logger, 'Stop', async () => ({ running: await sync.setPolling(false) })),
    handleLatestSerial: unary(logger, 'HandleLatestSerial', (req: HTTPRequest) =>
      forward(sync, LATEST_PATH, req),
    ),
    handleEventsRange: unary(logger, 'HandleEventsRange', (req: HTTPRequest) =>
      forward(sync, EVENTS_PATH, req),
    ),
    getMembers: unary(logger, 'GetMembers', async () => ({
      members: (await sync.listMembers()).map(memberOf),
    })),
    updateMembership: unary(logger, 'UpdateMembership', async (req: { relayUrls: string[] }) => {
      try {
        return { members: (await sync.updateMembership(req.relayUrls)).map(memberOf), error: '' };
      } catch (err) {
        return { members: (await sync.listMembers()).map(memberOf), error: (err as Error).message };
      }
    }),
    handleMembershipEvent: unary(logger, 'HandleMembershipEvent', async (req: { eventJson: string }) => {
      const event = parseEvent(req.eventJson);
      if (typeof event === 'string') return { accepted: false, applied: false, error: event };
      return sync.handleMembershipEvent(event);
    }),
    getClusterStatus: unary(logger, 'GetClusterStatus', async () => {
      const s = await sync.clusterStatus();
      return {
        latestSerial: s.latestSerial,
        activeMembers: s.members.filter((m) => m.status === 'active').length,
        totalMembers: s.members.length,
        propagatePrivilegedEvents: s.propagatePrivileged,
        members: s.members.map(memberOf),
        nodeId: s.nodeId,
        trustedReaders: [...s.trustedReaders],
      };
    }),
    getMemberStatus: unary(logger, 'GetMemberStatus', async (req: { httpUrl: string }) => {
      const member = await sync.memberStatus(req.httpUrl);
      return member === undefined
        ? { member: undefined, found: false }
        : { member: memberOf(member), found: true };
    }),
    getLatestSerial: unary(logger, 'GetLatestSerial', async () => ({
      serial: await sync.latestSerial(),
      timestamp: Math.floor(Date.now() / 1000),
    })),
    getEventsInRange: unary(
      logger,
      'GetEventsInRange',
      async (req: { from: number; to: number; limit: number }) => {
        const range = await sync.eventsInRange(req.from, req.to, req.limit);
        return {
          events: range.rows.map((r) => ({ serial: r.serial, id: r.id, timestamp: r.createdAt })),
          hasMore: range.hasMore,
          nextFrom: range.nextFrom,
        };
      },
    ),
  };
}
