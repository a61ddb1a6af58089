/**
 * The transfer phases of `orly sync`, strfry-style:
 *
 * - download: the `need` ids are requested with REQ "R" {ids: [...]} in batches of 50, one
 *   batch in flight on the wire (the next REQ goes out after the previous EOSE). Each EVENT is
 *   checked like one from a client (checkEventShape, id == computeEventId, id requested,
 *   signature through the verifier, never an ephemeral kind) and saved. A batch's checks and
 *   saves overlap the transfer of the next one: at most two batches are being stored at once
 *   (the older completes before a third is requested). A CLOSED for "R" ends the sync with
 *   its reason.
 * - upload: the `have` events are read from the store and sent as EVENT, at most 100 awaiting
 *   their OK; OK true counts as accepted (duplicates included), OK false as rejected.
 *
 * Every wait for the peer uses the inactivity timeout; a timeout or disconnect throws SyncError.
 */
import type { Admission } from '../acl/policy/plugin-protocol.js';
import { verifySchnorr } from '../crypto/schnorr.js';
import type { SignatureVerifier } from '../crypto/signature-verifier.js';
import { checkEventShape, computeEventId, type NostrEvent, nip01Event } from '../protocol/event.js';
import { isEphemeral } from '../protocol/kinds.js';
import type { ClientStore } from '../store/event-store.js';
import { type PeerConnection, ReceiveTimeout, SyncError } from './peer.js';

export const REQ_SUB_ID = 'R';
export const DOWNLOAD_BATCH = 50;
export const MAX_EVENTS_IN_FLIGHT = 100;

export interface DownloadStats {
  /** Newly stored. */
  downloaded: number;
  /** Already stored (e.g. arrived meanwhile). */
  duplicates: number;
  /** Malformed: bad shape, id or signature, or an id we did not ask for. */
  invalid: number;
  /** Valid but not stored (the store refused it, or an ephemeral kind). */
  rejected: number;
  /** Requested ids the peer did not return. */
  missing: number;
}

export interface UploadStats {
  uploaded: number;
  accepted: number;
  rejected: number;
  /** `have` ids no longer in the local store when their turn came. */
  skipped: number;
}

export interface TransferParams {
  readonly peer: PeerConnection;
  /** Downloads only save; uploads read by id. */
  readonly store: Pick<ClientStore, 'save' | 'getById'>;
  readonly timeoutMs: number;
  /** Called after each batch / OK with the running stats. */
  readonly onProgress?: (stats: Readonly<DownloadStats> | Readonly<UploadStats>) => void;
  /** Problems worth a line on stderr (bad events, rejections). */
  readonly log?: (line: string) => void;
  /** A write policy asked about every downloaded event before it is saved (refused: counted as rejected). */
  readonly admit?: (event: NostrEvent) => Promise<Admission>;
}

async function receive(peer: PeerConnection, timeoutMs: number, phase: string): Promise<unknown[]> {
  try {
    return await peer.receive(timeoutMs);
  } catch (err) {
    if (err instanceof ReceiveTimeout) throw new SyncError(`${phase} timed out: ${err.message}`);
    throw err;
  }
}

/** Checks one EVENT payload; returns the event (only NIP-01 fields) or why it is invalid. */
function checkEvent(value: unknown): NostrEvent | string {
  const problem = checkEventShape(value);
  if (problem !== undefined) return `malformed event: ${problem}`;
  const event = nip01Event(value as NostrEvent);
  if (computeEventId(event) !== event.id) return `event id does not match its content (${event.id})`;
  return event;
}

export async function downloadEvents(
  params: Omit<TransferParams, 'store'> & {
    readonly store: Pick<ClientStore, 'save'>;
    readonly ids: readonly string[];
    readonly verifier: SignatureVerifier;
    /** Ids per REQ (default DOWNLOAD_BATCH, strfry-sized; our own relays take up to their max limit, 500). */
    readonly batch?: number;
  },
): Promise<DownloadStats> {
  const { peer, store, timeoutMs, verifier, ids } = params;
  const log = params.log ?? (() => {});
  const stats: DownloadStats = { downloaded: 0, duplicates: 0, invalid: 0, rejected: 0, missing: 0 };
  const size = params.batch ?? DOWNLOAD_BATCH;
  let previous: { work: Promise<void>[]; pending: Set<string> } | undefined;
  /** A failed check or save (e.g. the store is gone): thrown when its batch settles, never left unhandled. */
  let failure: unknown;
  const settle = async (batch: { work: Promise<void>[]; pending: Set<string> }): Promise<void> => {
    await Promise.all(batch.work);
    if (failure !== undefined) throw failure;
    stats.missing += batch.pending.size;
    params.onProgress?.(stats);
  };
  for (let start = 0; start < ids.length; start += size) {
    const batch = ids.slice(start, start + size);
    const pending = new Set(batch);
    const work: Promise<void>[] = [];
    peer.send(['REQ', REQ_SUB_ID, { ids: batch }]);
    for (;;) {
      const frame = await receive(peer, timeoutMs, 'download');
      const [type, subId] = frame;
      if (type === 'NOTICE') {
        log(`peer NOTICE: ${String(frame[1] ?? '')}`);
        continue;
      }
      if (subId !== REQ_SUB_ID) continue;
      if (type === 'EOSE') break;
      if (type === 'CLOSED')
        throw new SyncError(`the peer closed the download (CLOSED: ${String(frame[2] ?? '')})`);
      if (type !== 'EVENT') continue;
      const checked = checkEvent(frame[2]);
      if (typeof checked === 'string') {
        stats.invalid++;
        log(checked);
        continue;
      }
      if (!pending.delete(checked.id)) {
        // Not requested in this batch (or a repeat): ignore, it is not ours to store.
        continue;
      }
      if (isEphemeral(checked.kind)) {
        stats.rejected++;
        continue;
      }
      work.push(
        verifier
          .verify(checked.id, checked.pubkey, checked.sig)
          .catch(() => verifySchnorr(checked.id, checked.pubkey, checked.sig))
          .then(async (ok) => {
            if (!ok) {
              stats.invalid++;
              log(`bad signature on event ${checked.id}`);
              return;
            }
            const admission = await params.admit?.(checked);
            if (admission !== undefined && !admission.store) {
              stats.rejected++;
              if (admission.reason !== undefined) log(`event ${checked.id} refused: ${admission.reason}`);
              return;
            }
            const result = await store.save(checked);
            if (!result.stored) {
              stats.rejected++;
              log(`event ${checked.id} not stored: ${result.reason}`);
            } else if (result.duplicate) stats.duplicates++;
            else stats.downloaded++;
          })
          .catch((err: unknown) => {
            failure ??= err;
          }),
      );
    }
    if (previous !== undefined) await settle(previous);
    previous = { work, pending };
  }
  if (previous !== undefined) await settle(previous);
  if (ids.length > 0) peer.send(['CLOSE', REQ_SUB_ID]);
  return stats;
}

export async function uploadEvents(
  params: TransferParams & { readonly ids: readonly string[] },
): Promise<UploadStats> {
  const { peer, store, timeoutMs, ids } = params;
  const log = params.log ?? (() => {});
  const stats: UploadStats = { uploaded: 0, accepted: 0, rejected: 0, skipped: 0 };
  const inFlight = new Set<string>();
  let next = 0;
  while (next < ids.length || inFlight.size > 0) {
    while (next < ids.length && inFlight.size < MAX_EVENTS_IN_FLIGHT) {
      const id = ids[next++]!;
      const stored = await store.getById(id);
      if (stored === undefined) {
        stats.skipped++;
        continue;
      }
      inFlight.add(id);
      peer.sendRaw(`["EVENT",${stored.raw}]`);
      stats.uploaded++;
    }
    if (inFlight.size === 0) break;
    const frame = await receive(peer, timeoutMs, 'upload');
    const [type, id] = frame;
    if (type === 'NOTICE') {
      log(`peer NOTICE: ${String(frame[1] ?? '')}`);
      continue;
    }
    if (type !== 'OK' || typeof id !== 'string' || !inFlight.delete(id)) continue;
    if (frame[2] === true) stats.accepted++;
    else {
      stats.rejected++;
      log(`event ${id} rejected by the peer: ${String(frame[3] ?? '')}`);
    }
    params.onProgress?.(stats);
  }
  return stats;
}
