/**
 * The adapter from DistributedSync to orlysync.distributed.v1.DistributedSyncService: every RPC
 * answered from the running DistributedSync over the service's store.
 *
 * - HandleCurrentRequest / HandleEventIDsRequest: the relay's forwarded HTTP request, answered by
 *   DistributedSync.handleHttp as the in-process relay would (NIP-98 from a configured peer,
 *   §5.1 shapes, 4xx for bad input). The RPC names the endpoint: an empty `path` is that
 *   endpoint's, another endpoint's path is a 404. Without `request_urls` (the relay has no
 *   public URL) no NIP-98 `u` can match: 401.
 * - GetEventIDs: the same range rules as /api/sync/event-ids (inverted, or wider than
 *   MAX_RANGE: INVALID_ARGUMENT); every id of the range, no continuation.
 * - UpdatePeers: an invalid list is refused in `error`, the list unchanged. With keep_configured
 *   (orly-sync-relaygroup's push) the list is the relay group's: the configured peers stay.
 * - TriggerSync: polls in the background; `triggered` is 0 for a URL that is not a peer.
 * Unexpected failures are gRPC errors: UNAVAILABLE when orly-db is unreachable, else INTERNAL.
 */
import { type ServerUnaryCall, type ServiceError, type sendUnaryData, status } from '@grpc/grpc-js';
import type { HTTPRequest, HTTPResponse, PeerInfo } from '../../gen/orlysync/common/v1/common.js';
import type { DistributedSyncServiceServer } from '../../gen/orlysync/distributed/v1/distributed.js';
import type { Logger } from '../../logger.js';
import { type DistributedSync, InvalidRangeError } from '../../sync/distributed/distributed-sync.js';
import { CURRENT_PATH, EVENT_IDS_PATH } from '../../sync/distributed/endpoints.js';
import type { PeerStatus } from '../../sync/replication.js';

function peerInfoOf(peer: PeerStatus): PeerInfo {
  return {
    url: peer.url,
    lastSerial: peer.lastSerial,
    status: peer.status,
    lastPoll: peer.lastPoll,
    errorCount: peer.errorCount,
    pubkey: peer.pubkey,
    lag: peer.lag,
    lastError: peer.lastError,
    live: peer.live,
  };
}

function grpcError(err: unknown): Partial<ServiceError> {
  if (err instanceof InvalidRangeError) return { code: status.INVALID_ARGUMENT, details: err.message };
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
        if (!(err instanceof InvalidRangeError))
          logger.warn({ rpc: name, err: (err as Error).message ?? String(err) }, 'RPC failed');
        callback(grpcError(err));
      },
    );
  };
}

async function forward(sync: DistributedSync, path: string, req: HTTPRequest): Promise<HTTPResponse> {
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

export function distributedService(
  sync: DistributedSync,
  isReady: () => boolean,
  logger: Logger,
): DistributedSyncServiceServer {
  return {
    ready: (_call, callback) => callback(null, { ready: isReady() }),
    getInfo: unary(logger, 'GetInfo', async () => ({
      nodeId: sync.nodeId,
      relayUrl: sync.relayUrl,
      currentSerial: await sync.currentSerial(),
      peerCount: sync.peers.length,
      status: sync.lifecycle,
    })),
    getCurrentSerial: unary(logger, 'GetCurrentSerial', async () => ({
      nodeId: sync.nodeId,
      relayUrl: sync.relayUrl,
      serial: await sync.currentSerial(),
    })),
    getEventIDs: unary(logger, 'GetEventIDs', async (req: { from: number; to: number }) => ({
      eventMap: await sync.eventIds(req.from, req.to),
    })),
    handleCurrentRequest: unary(logger, 'HandleCurrentRequest', (req: HTTPRequest) =>
      forward(sync, CURRENT_PATH, req),
    ),
    handleEventIDsRequest: unary(logger, 'HandleEventIDsRequest', (req: HTTPRequest) =>
      forward(sync, EVENT_IDS_PATH, req),
    ),
    getPeers: unary(logger, 'GetPeers', async () => ({ peers: await sync.listPeers() })),
    updatePeers: unary(logger, 'UpdatePeers', async (req: { peers: string[]; keepConfigured: boolean }) => {
      try {
        const peers = req.keepConfigured
          ? await sync.setGroupPeers(req.peers)
          : await sync.updatePeers(req.peers);
        return { peers, error: '' };
      } catch (err) {
        return { peers: sync.peers, error: (err as Error).message };
      }
    }),
    isAuthorizedPeer: unary(
      logger,
      'IsAuthorizedPeer',
      async (req: { peerUrl: string; expectedPubkey: string }) => ({
        authorized: await sync.isAuthorizedPeer(req.peerUrl, req.expectedPubkey),
      }),
    ),
    getPeerPubkey: unary(logger, 'GetPeerPubkey', async (req: { peerUrl: string }) => ({
      pubkey: await sync.peerPubkey(req.peerUrl),
    })),
    updateSerial: unary(logger, 'UpdateSerial', async () => ({ serial: await sync.currentSerial() })),
    notifyNewEvent: (call, callback) => {
      sync.notifyNewEvent(call.request.serial);
      callback(null, {});
    },
    triggerSync: unary(logger, 'TriggerSync', async (req: { peerUrl: string }) => ({
      triggered: await sync.triggerSync(req.peerUrl === '' ? undefined : req.peerUrl),
    })),
    getSyncStatus: unary(logger, 'GetSyncStatus', async () => {
      const current = await sync.status();
      return { currentSerial: current.currentSerial, peers: current.peers.map(peerInfoOf) };
    }),
  };
}
