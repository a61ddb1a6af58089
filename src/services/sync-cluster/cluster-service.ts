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
 * Unexpected failures are gRPC errors: UNAVAILABLE when orly-db is unreachable, else INTERNAL
 * (../shared/sync-rpc.ts).
 */
import type { ClusterMember, ClusterSyncServiceServer } from '../../gen/orlysync/cluster/v1/cluster.js';
import type { HTTPRequest } from '../../gen/orlysync/common/v1/common.js';
import type { Logger } from '../../logger.js';
import type { NostrEvent } from '../../protocol/event.js';
import { EVENTS_PATH, LATEST_PATH } from '../../sync/cluster/cluster-endpoints.js';
import { type ClusterMemberStatus, ClusterRangeError } from '../../sync/cluster/cluster-replication.js';
import type { ClusterSync } from '../../sync/cluster/cluster-sync.js';
import { answerHttp, syncUnary } from '../shared/sync-rpc.js';

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
    eventsReplicated: m.eventsReplicated,
    bytesReceived: m.bytesReceived,
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
  const unary = syncUnary(logger, (err) => err instanceof ClusterRangeError);
  return {
    ready: (_call, callback) => callback(null, { ready: isReady() }),
    start: unary('Start', async () => ({ running: await sync.setPolling(true) })),
    stop: unary('Stop', async () => ({ running: await sync.setPolling(false) })),
    handleLatestSerial: unary('HandleLatestSerial', (req: HTTPRequest) => answerHttp(sync, LATEST_PATH, req)),
    handleEventsRange: unary('HandleEventsRange', (req: HTTPRequest) => answerHttp(sync, EVENTS_PATH, req)),
    getMembers: unary('GetMembers', async () => ({
      members: (await sync.listMembers()).map(memberOf),
    })),
    updateMembership: unary('UpdateMembership', async (req: { relayUrls: string[] }) => {
      try {
        return { members: (await sync.updateMembership(req.relayUrls)).map(memberOf), error: '' };
      } catch (err) {
        return { members: (await sync.listMembers()).map(memberOf), error: (err as Error).message };
      }
    }),
    handleMembershipEvent: unary('HandleMembershipEvent', async (req: { eventJson: string }) => {
      const event = parseEvent(req.eventJson);
      if (typeof event === 'string') return { accepted: false, applied: false, error: event };
      return sync.handleMembershipEvent(event);
    }),
    getClusterStatus: unary('GetClusterStatus', async () => {
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
    getMemberStatus: unary('GetMemberStatus', async (req: { httpUrl: string }) => {
      const member = await sync.memberStatus(req.httpUrl);
      return member === undefined
        ? { member: undefined, found: false }
        : { member: memberOf(member), found: true };
    }),
    getLatestSerial: unary('GetLatestSerial', async () => ({
      serial: await sync.latestSerial(),
      timestamp: Math.floor(Date.now() / 1000),
    })),
    getEventsInRange: unary('GetEventsInRange', async (req: { from: number; to: number; limit: number }) => {
      const range = await sync.eventsInRange(req.from, req.to, req.limit);
      return {
        events: range.rows.map((r) => ({ serial: r.serial, id: r.id, timestamp: r.createdAt })),
        hasMore: range.hasMore,
        nextFrom: range.nextFrom,
      };
    }),
  };
}
