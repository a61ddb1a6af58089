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
 * Unexpected failures are gRPC errors: UNAVAILABLE when orly-db is unreachable, else INTERNAL
 * (../shared/sync-rpc.ts).
 */
import type { HTTPRequest, PeerInfo } from '../../gen/orlysync/common/v1/common.js';
import type { DistributedSyncServiceServer } from '../../gen/orlysync/distributed/v1/distributed.js';
import type { Logger } from '../../logger.js';
import { type DistributedSync, InvalidRangeError } from '../../sync/distributed/distributed-sync.js';
import { CURRENT_PATH, EVENT_IDS_PATH } from '../../sync/distributed/endpoints.js';
import type { PeerStatus } from '../../sync/replication.js';
import { answerHttp, syncUnary } from '../shared/sync-rpc.js';

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
    eventsReplicated: peer.eventsReplicated,
    bytesReceived: peer.bytesReceived,
  };
}

export function distributedService(
  sync: DistributedSync,
  isReady: () => boolean,
  logger: Logger,
): DistributedSyncServiceServer {
  const unary = syncUnary(logger, (err) => err instanceof InvalidRangeError);
  return {
    ready: (_call, callback) => callback(null, { ready: isReady() }),
    getInfo: unary('GetInfo', async () => ({
      nodeId: sync.nodeId,
      relayUrl: sync.relayUrl,
      currentSerial: await sync.currentSerial(),
      peerCount: sync.peers.length,
      status: sync.lifecycle,
    })),
    getCurrentSerial: unary('GetCurrentSerial', async () => ({
      nodeId: sync.nodeId,
      relayUrl: sync.relayUrl,
      serial: await sync.currentSerial(),
    })),
    getEventIDs: unary('GetEventIDs', async (req: { from: number; to: number }) => ({
      eventMap: await sync.eventIds(req.from, req.to),
    })),
    handleCurrentRequest: unary('HandleCurrentRequest', (req: HTTPRequest) =>
      answerHttp(sync, CURRENT_PATH, req),
    ),
    handleEventIDsRequest: unary('HandleEventIDsRequest', (req: HTTPRequest) =>
      answerHttp(sync, EVENT_IDS_PATH, req),
    ),
    getPeers: unary('GetPeers', async () => ({ peers: await sync.listPeers() })),
    updatePeers: unary('UpdatePeers', async (req: { peers: string[]; keepConfigured: boolean }) => {
      try {
        const peers = req.keepConfigured
          ? await sync.setGroupPeers(req.peers)
          : await sync.updatePeers(req.peers);
        return { peers, error: '' };
      } catch (err) {
        return { peers: sync.peers, error: (err as Error).message };
      }
    }),
    isAuthorizedPeer: unary('IsAuthorizedPeer', async (req: { peerUrl: string; expectedPubkey: string }) => ({
      authorized: await sync.isAuthorizedPeer(req.peerUrl, req.expectedPubkey),
    })),
    getPeerPubkey: unary('GetPeerPubkey', async (req: { peerUrl: string }) => ({
      pubkey: await sync.peerPubkey(req.peerUrl),
    })),
    updateSerial: unary('UpdateSerial', async () => ({ serial: await sync.currentSerial() })),
    notifyNewEvent: (call, callback) => {
      sync.notifyNewEvent(call.request.serial);
      callback(null, {});
    },
    triggerSync: unary('TriggerSync', async (req: { peerUrl: string }) => ({
      triggered: await sync.triggerSync(req.peerUrl === '' ? undefined : req.peerUrl),
    })),
    getSyncStatus: unary('GetSyncStatus', async () => {
      const current = await sync.status();
      return { currentSerial: current.currentSerial, peers: current.peers.map(peerInfoOf) };
    }),
  };
}
