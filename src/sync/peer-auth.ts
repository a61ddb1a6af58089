/**
 * NIP-42 from the client side, for the relay's own connections to peers: the peer sends
 * `["AUTH", <challenge>]`; we answer with a kind-22242 event signed by the relay identity (the
 * `relay` tag: the URL we connected to; the `challenge` tag) and wait for its OK. A peer that
 * sends no challenge within `timeoutMs` is used unauthenticated (it then serves what it serves
 * anyone); one that refuses the AUTH is an error (its reason in the message).
 */
import { signEvent } from '../crypto/signer.js';
import { KIND_CLIENT_AUTH } from '../protocol/kinds.js';
import type { RelayIdentity } from './identity/relay-identity.js';
import { type Frame, type PeerConnection, ReceiveTimeout, SyncError } from './peer.js';

/** True when authenticated, false when the peer asked for nothing. Frames that are not AUTH/OK before it are dropped. */
export async function authenticateToPeer(
  peer: PeerConnection,
  identity: RelayIdentity,
  timeoutMs: number,
): Promise<boolean> {
  let challenge: string | undefined;
  try {
    for (;;) {
      const frame: Frame = await peer.receive(timeoutMs);
      if (frame[0] === 'AUTH' && typeof frame[1] === 'string') {
        challenge = frame[1];
        break;
      }
    }
  } catch (err) {
    if (err instanceof ReceiveTimeout) return false;
    throw err;
  }
  const event = signEvent(
    {
      kind: KIND_CLIENT_AUTH,
      created_at: Math.floor(Date.now() / 1000),
      tags: [
        ['relay', peer.url],
        ['challenge', challenge],
      ],
      content: '',
    },
    identity.secret,
  );
  peer.send(['AUTH', event]);
  for (;;) {
    const frame: Frame = await peer.receive(timeoutMs);
    if (frame[0] === 'OK' && frame[1] === event.id) {
      if (frame[2] === true) return true;
      throw new SyncError(`the peer refused our AUTH: ${String(frame[3] ?? '')}`);
    }
  }
}
