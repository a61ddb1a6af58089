/**
 * One complete sync with a peer relay against any ClientStore & SyncSource: the same steps as direct-mode
 * `orly sync` (local negentropy items for the filter, NIP-77 reconciliation as the initiator,
 * then download / upload per direction through transfer.ts), with running counts reported
 * through `onProgress` and cancellation through an AbortSignal (closing the socket). With
 * `onIds`, the reconciled have/need ids are handed over once, after reconciliation and before
 * any transfer (phase `ids`; the sync waits for a returned promise). Used by the
 * orly-sync-negentropy service (SyncWithPeer and the background peer loop).
 */

import type { Admission } from '../acl/policy/plugin-protocol.js';
import type { SignatureVerifier } from '../crypto/signature-verifier.js';
import { SealedVector } from '../negentropy/codec/storage.js';
import type { NostrEvent } from '../protocol/event.js';
import { filterToJSON, type NormalizedFilter } from '../protocol/filter.js';
import type { ClientStore, SyncSource } from '../store/event-store.js';
import type { Direction } from './direction.js';
import { reconcileWithPeer } from './negentropy-client.js';
import { PeerConnection, SyncError } from './peer.js';
import { type DownloadStats, downloadEvents, type UploadStats, uploadEvents } from './transfer.js';

export type SyncPhase = 'connect' | 'reconcile' | 'ids' | 'download' | 'upload' | 'done';

export interface PeerSyncProgress {
  phase: SyncPhase;
  local: number;
  round: number;
  have: number;
  need: number;
  /** Events received and stored (newly or as duplicates). */
  fetched: number;
  /** Events sent to the peer. */
  sent: number;
  accepted: number;
  rejected: number;
  invalid: number;
}

export interface PeerSyncParams {
  readonly url: string;
  readonly store: ClientStore & SyncSource;
  readonly filter: NormalizedFilter;
  readonly dir: Direction;
  readonly frameSizeLimit: number;
  readonly timeoutMs: number;
  readonly verifier: SignatureVerifier;
  readonly onProgress?: (progress: Readonly<PeerSyncProgress>) => void;
  /**
   * Called once after reconciliation, before download/upload, with the ids we have and the
   * peer lacks (`have`) and the ids the peer has and we lack (`need`), lowercase hex.
   */
  readonly onIds?: (have: readonly string[], need: readonly string[]) => void | Promise<void>;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** A write policy asked about every downloaded event before it is saved. */
  readonly admit?: (event: NostrEvent) => Promise<Admission>;
}

export interface PeerSyncResult extends PeerSyncProgress {
  download: DownloadStats | undefined;
  upload: UploadStats | undefined;
}

/** Progress before anything has happened. */
export function initialProgress(): PeerSyncProgress {
  return {
    phase: 'connect',
    local: 0,
    round: 0,
    have: 0,
    need: 0,
    fetched: 0,
    sent: 0,
    accepted: 0,
    rejected: 0,
    invalid: 0,
  };
}

export async function syncWithPeer(params: PeerSyncParams): Promise<PeerSyncResult> {
  const { store, timeoutMs, signal } = params;
  const progress: PeerSyncResult = { ...initialProgress(), download: undefined, upload: undefined };
  const report = (): void => params.onProgress?.(progress);
  const checkAborted = (): void => {
    if (signal?.aborted) throw new SyncError('sync cancelled');
  };
  checkAborted();
  const items = await store.negentropyItems(params.filter, Number.MAX_SAFE_INTEGER);
  if (items === undefined) throw new SyncError('the local store returned no item set for the filter');
  const storage = SealedVector.fromSorted(items);
  progress.local = storage.size;
  report();
  checkAborted();
  const peer = await PeerConnection.connect(params.url, timeoutMs);
  const onAbort = (): void => void peer.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    checkAborted();
    progress.phase = 'reconcile';
    report();
    const reconciled = await reconcileWithPeer({
      peer,
      storage,
      filter: filterToJSON(params.filter),
      frameSizeLimit: params.frameSizeLimit,
      timeoutMs,
      onRound: (round, have, need) => {
        progress.round = round;
        progress.have = have;
        progress.need = need;
        report();
      },
      onNotice: (text) => params.log?.(`peer NOTICE: ${text}`),
    });
    progress.round = reconciled.rounds;
    progress.have = reconciled.have.length;
    progress.need = reconciled.need.length;
    if (params.onIds) {
      checkAborted();
      progress.phase = 'ids';
      report();
      await params.onIds(reconciled.have, reconciled.need);
      checkAborted();
    }
    const log = params.log;
    if ((params.dir === 'down' || params.dir === 'both') && reconciled.need.length > 0) {
      checkAborted();
      progress.phase = 'download';
      report();
      const update = (s: Readonly<DownloadStats>): void => {
        progress.fetched = s.downloaded + s.duplicates;
        progress.invalid = s.invalid;
      };
      const stats = await downloadEvents({
        peer,
        store,
        ids: reconciled.need,
        verifier: params.verifier,
        timeoutMs,
        log,
        ...(params.admit === undefined ? {} : { admit: params.admit }),
        onProgress: (s) => {
          if ('downloaded' in s) update(s);
          report();
        },
      });
      update(stats);
      progress.download = stats;
    }
    if ((params.dir === 'up' || params.dir === 'both') && reconciled.have.length > 0) {
      checkAborted();
      progress.phase = 'upload';
      report();
      const update = (s: Readonly<UploadStats>): void => {
        progress.sent = s.uploaded;
        progress.accepted = s.accepted;
        progress.rejected = s.rejected;
      };
      const stats = await uploadEvents({
        peer,
        store,
        ids: reconciled.have,
        timeoutMs,
        log,
        onProgress: (s) => {
          if ('uploaded' in s) update(s);
          report();
        },
      });
      update(stats);
      progress.upload = stats;
    }
    progress.phase = 'done';
    return progress;
  } catch (err) {
    if (signal?.aborted) throw new SyncError('sync cancelled');
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await peer.close();
  }
}
