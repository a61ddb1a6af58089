/**
 * Drives one NIP-77 reconciliation as the initiator (client) over a PeerConnection: sends
 * NEG-OPEN "N" with the filter and our initiate() message, answers every NEG-MSG with the
 * Initiator's next message until it has none (then NEG-CLOSE), and collects have/need
 * (de-duplicated by the Initiator). Like strfry: a NOTICE before the first NEG-MSG, or no answer
 * within the timeout, means the peer does not support negentropy; NEG-ERR ends the sync with its
 * reason; a NOTICE later is only reported.
 */
import { Initiator } from '../negentropy/codec/reconcile.js';
import type { NegentropyStorage } from '../negentropy/codec/storage.js';
import { fromHex, NegentropyError, toHex } from '../negentropy/codec/types.js';
import type { Filter } from '../protocol/filter.js';
import { type PeerConnection, ReceiveTimeout, SyncError } from './peer.js';

export const NEG_SUB_ID = 'N';

export interface ReconcileResult {
  readonly have: string[];
  readonly need: string[];
  readonly rounds: number;
}

export interface ReconcileParams {
  readonly peer: PeerConnection;
  readonly storage: NegentropyStorage;
  readonly filter: Filter;
  readonly frameSizeLimit: number;
  readonly timeoutMs: number;
  /** Called after each round with the running totals. */
  readonly onRound?: (rounds: number, have: number, need: number) => void;
  /** Called with the text of NOTICEs received after reconciliation started. */
  readonly onNotice?: (message: string) => void;
}

export async function reconcileWithPeer(params: ReconcileParams): Promise<ReconcileResult> {
  const { peer, timeoutMs } = params;
  const initiator = new Initiator(params.storage, { frameSizeLimit: params.frameSizeLimit });
  const have: string[] = [];
  const need: string[] = [];
  let rounds = 0;
  peer.send(['NEG-OPEN', NEG_SUB_ID, params.filter, toHex(initiator.initiate())]);
  for (;;) {
    let frame: unknown[];
    try {
      frame = await peer.receive(timeoutMs);
    } catch (err) {
      if (err instanceof ReceiveTimeout) {
        throw new SyncError(
          rounds === 0
            ? `the peer did not answer NEG-OPEN within ${timeoutMs / 1000} s (does it support NIP-77 negentropy?)`
            : `reconciliation timed out: ${err.message}`,
        );
      }
      throw err;
    }
    const [type, subId] = frame;
    if (type === 'NOTICE') {
      const text = String(frame[1] ?? '');
      if (rounds === 0) throw new SyncError(`the peer does not support NIP-77 negentropy (NOTICE: ${text})`);
      params.onNotice?.(text);
      continue;
    }
    if (subId !== NEG_SUB_ID) continue;
    if (type === 'NEG-ERR') throw new SyncError(`the peer answered NEG-ERR: ${String(frame[2] ?? '')}`);
    if (type !== 'NEG-MSG') continue;
    if (typeof frame[2] !== 'string') throw new SyncError('the peer sent a NEG-MSG without a hex message');
    let round: ReturnType<Initiator['reconcile']>;
    try {
      round = initiator.reconcile(fromHex(frame[2]));
    } catch (err) {
      if (err instanceof NegentropyError) throw new SyncError(`bad NEG-MSG from the peer: ${err.message}`);
      throw err;
    }
    rounds++;
    for (const id of round.have) have.push(id);
    for (const id of round.need) need.push(id);
    params.onRound?.(rounds, have.length, need.length);
    if (round.next === undefined) {
      peer.send(['NEG-CLOSE', NEG_SUB_ID]);
      return { have, need, rounds };
    }
    peer.send(['NEG-MSG', NEG_SUB_ID, toHex(round.next)]);
  }
}
