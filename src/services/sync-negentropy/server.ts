/**
 * startNegentropyServer: orly-sync-negentropy in this process (used by its CLI and by tests).
 * Serves orlysync.negentropy.v1.NegentropyService (plus grpc.health.v1) through GrpcServer over
 * a NegentropySyncService bound to a store (GrpcEventStore to orly-db in the binary).
 * SyncWithPeer streams SyncProgress (throttled to one message per 100 ms within a phase) and
 * ends with a message that has complete=true or error set. With include_ids, the reconciled
 * ids follow reconciliation in messages of phase "ids" (have_ids, then need_ids; at most 5,000
 * per message, id-stream.ts), before any transfer.
 *
 * HandleNegOpen/Msg/Close: client NIP-77 routed from relays (GrpcNegentropyResponder), answered
 * by a LocalNegentropyResponder over this service's store. Sessions are keyed by
 * ((relay_id, connection_id), subscription_id), freed after `negSessionTimeoutMs` idle
 * (ORLY_SYNC_NEGENTROPY_SESSION_TIMEOUT) and capped at `negMaxSessions` per (relay_id,
 * connection_id) (ORLY_SYNC_NEGENTROPY_MAX_SESSIONS; beyond it the error is "blocked: too many
 * open negentropy sessions ..."; replacing a subscription_id's session does not count). The
 * relay's policy (authed pubkeys, restricted kinds, max records, frame size, the connection's
 * hidden authors and read scope: hidden_kinds, involved_kinds, all_involved) comes with each
 * HandleNegOpen: the service keeps no copy, so relays with different policies can share it.
 * Outcomes are fields (`error` holds a NEG-ERR reason, including "invalid: ..." for a malformed
 * request), never gRPC errors.
 */

import { type ServerWritableStream, status } from '@grpc/grpc-js';
import type { WritePolicy } from '../../acl/policy/plugin-protocol.js';
import { Reasons } from '../../errors.js';
import {
  type HandleNegOpenRequest,
  type NegentropyServiceServer,
  NegentropyServiceService,
  type PeerSyncState,
  type SyncProgress,
  type SyncWithPeerRequest,
} from '../../gen/orlysync/negentropy/v1/negentropy.js';
import type { GrpcSecurity } from '../../grpc/security.js';
import { GrpcServer } from '../../grpc/server.js';
import type { Logger } from '../../logger.js';
import { MIN_FRAME_SIZE_LIMIT } from '../../negentropy/codec/types.js';
import { LocalNegentropyResponder } from '../../negentropy/local-responder.js';
import type { NegPolicy, NegReply, NegSessionKey } from '../../negentropy/responder.js';
import { type NormalizedFilter, parseFilterText } from '../../protocol/filter.js';
import { scopeFromLists } from '../../protocol/read-scope.js';
import type { ClientStore, StoreAdmin, SyncSource } from '../../store/event-store.js';
import { type Direction, directionFromProto } from '../../sync/direction.js';
import {
  NegentropySyncService,
  type PeerState,
  peerUrlProblem,
  type SyncServiceConfig,
} from '../../sync/negentropy-sync-service.js';
import { SyncError } from '../../sync/peer.js';
import { initialProgress, type PeerSyncProgress } from '../../sync/peer-sync.js';
import { writeIds } from './id-stream.js';

export interface NegentropyServerOptions {
  readonly listen: string;
  /** Synced and queried (ClientStore, SyncSource); its readiness (StoreAdmin.isOpen) is served. */
  readonly store: ClientStore & SyncSource & StoreAdmin;
  readonly sync: SyncServiceConfig;
  readonly logger: Logger;
  readonly security?: GrpcSecurity;
  /** Closed on stop (the CLI's GrpcEventStore); tests keep ownership by default. */
  readonly ownsStore?: boolean;
  /** Routed NIP-77 sessions idle this long are freed (default 5 min). */
  readonly negSessionTimeoutMs?: number;
  /** Routed NIP-77 sessions allowed per relay connection (default 8). */
  readonly negMaxSessions?: number;
  /** ORLY_WRITE_POLICY_PLUGIN, started: asked about every event a peer sync downloads; stopped with the server. */
  readonly writePolicy?: WritePolicy;
}

const MAX_RECORDS_DEFAULT = 1_000_000;
const MAX_RECORDS_LIMIT = 10_000_000;

/** The relay's policy from a HandleNegOpenRequest; throws Error with the reason. */
function policyOf(req: HandleNegOpenRequest): NegPolicy {
  for (const k of req.restrictedKinds) if (k > 65535) throw new Error(`restricted kind ${k} out of range`);
  if (req.maxRecords > MAX_RECORDS_LIMIT) throw new Error(`max_records above ${MAX_RECORDS_LIMIT}`);
  if (req.frameSizeLimit !== 0 && req.frameSizeLimit < MIN_FRAME_SIZE_LIMIT)
    throw new Error(`frame_size_limit must be 0 or >= ${MIN_FRAME_SIZE_LIMIT}`);
  return {
    restrictedKinds: new Set(req.restrictedKinds),
    maxRecords: req.maxRecords || MAX_RECORDS_DEFAULT,
    frameSizeLimit: req.frameSizeLimit,
  };
}

/** The responder's key: connection ids are scoped by relay (two relays' connection "1" differ). */
function negKey(relayId: string, connectionId: string, subId: string): NegSessionKey {
  return { connectionId: JSON.stringify([relayId, connectionId]), subId };
}

/** A routed NEG-OPEN: request checks, then the local responder. */
async function negOpen(responder: LocalNegentropyResponder, req: HandleNegOpenRequest): Promise<NegReply> {
  let filter: NormalizedFilter;
  let policy: NegPolicy;
  try {
    if (req.subscriptionId === '' || req.connectionId === '')
      throw new Error('connection_id and subscription_id are required');
    const parsed = parseFilterText(req.filterJson === '' ? '{}' : req.filterJson);
    if (!parsed.ok) throw new Error(`filter_json: ${parsed.reason}`);
    filter = parsed.filter;
    for (const pk of req.authedPubkeys)
      if (!/^[0-9a-f]{64}$/.test(pk)) throw new Error('authed_pubkeys: expected 64 lowercase hex');
    for (const pk of req.hiddenAuthors)
      if (!/^[0-9a-f]{64}$/.test(pk)) throw new Error('hidden_authors: expected 64 lowercase hex');
    for (const k of [...req.hiddenKinds, ...req.involvedKinds])
      if (k > 65535) throw new Error(`hidden_kinds / involved_kinds: kind ${k} out of range`);
    policy = policyOf(req);
  } catch (err) {
    return { error: Reasons.badRequest((err as Error).message) };
  }
  return responder.open(negKey(req.relayId, req.connectionId, req.subscriptionId), filter, req.message, {
    authed: new Set(req.authedPubkeys),
    ip: req.ip,
    policy,
    ...(req.hiddenAuthors.length > 0 ? { hiddenAuthors: new Set(req.hiddenAuthors) } : {}),
    readScope: scopeFromLists(req.hiddenKinds, req.involvedKinds, req.allInvolved),
  });
}

export interface NegentropyServer {
  readonly port: number;
  readonly address: string;
  readonly service: NegentropySyncService;
  stop(graceMs?: number): Promise<void>;
}

/** Parses a NIP-01 filter given as JSON ("" = {}); throws Error with the reason. */
export function parseFilterJson(text: string): NormalizedFilter {
  if (text.trim() === '') return {};
  const parsed = parseFilterText(text);
  if (!parsed.ok)
    throw new Error(parsed.notJson ? 'filter must be a JSON object' : `filter: ${parsed.reason}`);
  if (parsed.filter.limit !== undefined) throw new Error('filter: "limit" is not supported by sync');
  return parsed.filter;
}

function peerStateToProto(p: PeerState): PeerSyncState {
  return {
    peerUrl: p.url,
    state: p.state,
    lastAttemptMs: p.lastAttemptMs,
    lastSuccessMs: p.lastSuccessMs,
    nextAttemptMs: p.nextAttemptMs,
    consecutiveFailures: p.consecutiveFailures,
    lastError: p.lastError,
    totalFetched: p.totalFetched,
    totalSent: p.totalSent,
    lastHave: p.lastHave,
    lastNeed: p.lastNeed,
  };
}

function progressMessage(
  peerUrl: string,
  sessionId: string,
  p: Readonly<PeerSyncProgress>,
): Omit<SyncProgress, 'complete' | 'error'> {
  return {
    peerUrl,
    sessionId,
    phase: p.phase,
    round: p.round,
    haveCount: p.have,
    needCount: p.need,
    fetchedCount: p.fetched,
    sentCount: p.sent,
    localCount: p.local,
    acceptedCount: p.accepted,
    rejectedCount: p.rejected,
    invalidCount: p.invalid,
    haveIds: [],
    needIds: [],
  };
}

function implementation(
  service: NegentropySyncService,
  responder: LocalNegentropyResponder,
  logger: Logger,
  isReady: () => boolean,
): NegentropyServiceServer {
  const invalid = (details: string) => ({ code: status.INVALID_ARGUMENT, details });
  const syncWithPeer = (call: ServerWritableStream<SyncWithPeerRequest, SyncProgress>): void => {
    const req = call.request;
    let filter: NormalizedFilter;
    let dir: Direction;
    try {
      const problem = peerUrlProblem(req.peerUrl);
      if (problem) throw new Error(problem);
      filter = parseFilterJson(req.filterJson);
      dir = directionFromProto(req.direction);
      if (req.frameSizeLimit !== 0 && req.frameSizeLimit < MIN_FRAME_SIZE_LIMIT)
        throw new Error(`frame_size_limit must be 0 or >= ${MIN_FRAME_SIZE_LIMIT}`);
    } catch (err) {
      call.emit('error', invalid((err as Error).message));
      return;
    }
    const defaults = service.defaults;
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    let lastPhase = '';
    let lastWrite = 0;
    let sessionId = '';
    let last: Readonly<PeerSyncProgress> = initialProgress();
    service
      .run(
        req.peerUrl,
        {
          filter,
          dir,
          frameSizeLimit: req.frameSizeLimit || defaults.frameSizeLimit,
          timeoutMs: req.timeoutMs || defaults.timeoutMs,
        },
        'client',
        (p, id) => {
          sessionId = id;
          last = { ...p };
          // The id messages themselves carry phase "ids".
          if (p.phase === 'ids') return;
          const now = Date.now();
          if (p.phase === lastPhase && now - lastWrite < 100) return;
          lastPhase = p.phase;
          lastWrite = now;
          if (!call.cancelled)
            call.write({ ...progressMessage(req.peerUrl, id, p), complete: false, error: '' });
        },
        abort.signal,
        req.includeIds
          ? (have, need) =>
              writeIds(
                call,
                { ...progressMessage(req.peerUrl, sessionId, last), complete: false, error: '' },
                have,
                need,
                abort.signal,
              )
          : undefined,
      )
      .then(
        (result) => {
          if (call.cancelled) return;
          call.write({ ...progressMessage(req.peerUrl, sessionId, result), complete: true, error: '' });
          call.end();
        },
        (err: unknown) => {
          const message = err instanceof SyncError || err instanceof Error ? err.message : String(err);
          if (!(err instanceof SyncError)) logger.warn({ peer: req.peerUrl, err: message }, 'sync failed');
          if (call.cancelled) return;
          call.write({ ...progressMessage(req.peerUrl, sessionId, last), complete: false, error: message });
          call.end();
        },
      );
  };
  return {
    ready: (_call, callback) => callback(null, { ready: isReady() }),
    start: (_call, callback) => {
      service.start();
      callback(null, { running: service.isRunning });
    },
    stop: (_call, callback) => {
      service.stop();
      callback(null, { running: service.isRunning });
    },
    handleNegOpen: (call, callback) => {
      negOpen(responder, call.request).then(
        (reply) =>
          callback(
            null,
            'error' in reply
              ? { message: '', error: reply.error, maxRecords: reply.maxRecords ?? 0 }
              : { message: reply.message, error: '', maxRecords: 0 },
          ),
        (err: unknown) =>
          callback(null, { message: '', error: Reasons.internal(String(err)), maxRecords: 0 }),
      );
    },
    handleNegMsg: (call, callback) => {
      const req = call.request;
      responder.message(negKey(req.relayId, req.connectionId, req.subscriptionId), req.message).then(
        (reply) =>
          callback(
            null,
            'error' in reply ? { message: '', error: reply.error } : { message: reply.message, error: '' },
          ),
        (err: unknown) => callback(null, { message: '', error: Reasons.internal(String(err)) }),
      );
    },
    handleNegClose: (call, callback) => {
      const req = call.request;
      const before = responder.total;
      const key = negKey(req.relayId, req.connectionId, req.subscriptionId);
      if (req.subscriptionId === '') responder.closeConnection(key.connectionId);
      else responder.close(key);
      callback(null, { closed: before - responder.total });
    },
    syncWithPeer,
    getSyncStatus: (_call, callback) =>
      callback(null, {
        running: service.isRunning,
        intervalMs: service.intervalMs,
        peers: service.peerStates().map(peerStateToProto),
        activeSessions: service.listSessions().length,
      }),
    getPeers: (_call, callback) => callback(null, { peerUrls: service.peerUrls() }),
    addPeer: (call, callback) => {
      try {
        callback(null, { added: service.addPeer(call.request.peerUrl) });
      } catch (err) {
        callback(invalid((err as Error).message));
      }
    },
    removePeer: (call, callback) => callback(null, { removed: service.removePeer(call.request.peerUrl) }),
    triggerSync: (call, callback) => {
      const url = call.request.peerUrl;
      if (url !== '' && service.peerState(url) === undefined) {
        callback({ code: status.NOT_FOUND, details: `unknown peer ${url}` });
        return;
      }
      callback(null, { triggered: service.trigger(url === '' ? undefined : url) });
    },
    getPeerSyncState: (call, callback) => {
      const state = service.peerState(call.request.peerUrl);
      callback(null, { found: state !== undefined, state: state ? peerStateToProto(state) : undefined });
    },
    listSessions: (_call, callback) =>
      callback(null, {
        sessions: service.listSessions().map((s) => ({
          sessionId: s.id,
          peerUrl: s.peerUrl,
          phase: s.phase,
          startedMs: s.startedMs,
          origin: s.origin,
        })),
      }),
    closeSession: (call, callback) =>
      callback(null, { closed: service.closeSession(call.request.sessionId) }),
  };
}

export async function startNegentropyServer(options: NegentropyServerOptions): Promise<NegentropyServer> {
  const { logger, store } = options;
  const service = new NegentropySyncService(store, options.sync, logger, undefined, options.writePolicy);
  const responder = new LocalNegentropyResponder({
    store,
    // Every routed NEG-OPEN brings the relay's policy; this one is never used.
    policy: { restrictedKinds: new Set(), maxRecords: MAX_RECORDS_DEFAULT, frameSizeLimit: 0 },
    logger,
    sessionTimeoutMs: options.negSessionTimeoutMs ?? 300_000,
    maxSessionsPerConnection: options.negMaxSessions ?? 8,
  });
  responder.start();
  let stopping = false;
  const grpc = new GrpcServer({
    name: 'orly-sync-negentropy',
    listen: options.listen,
    security: options.security ?? {},
    services: [
      {
        definition: NegentropyServiceService,
        implementation: implementation(service, responder, logger, () => !stopping && store.isOpen()),
      },
    ],
    logger,
    isServing: () => !stopping && store.isOpen(),
  });
  let port: number;
  try {
    port = await grpc.start();
  } catch (error) {
    await responder.shutdown();
    await service.close();
    if (options.ownsStore) await store.close();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    address: grpc.address,
    service,
    stop(graceMs = 5000): Promise<void> {
      stopped ??= (async () => {
        stopping = true;
        await service.close();
        await grpc.stop(graceMs);
        await responder.shutdown();
        await options.writePolicy?.stop();
        if (options.ownsStore) await store.close();
        logger.info({ port }, 'orly-sync-negentropy stopped');
      })();
      return stopped;
    },
  };
}
