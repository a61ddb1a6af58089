/**
 * BIP-340 signing of Nostr events with bcrypto's native backend (~60 µs per signature),
 * for the pre-signed dataset and for the fresh events of the fan-out scenarios.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { computeEventId, type NostrEvent } from '../src/protocol/event.js';

interface BcryptoSchnorr {
  readonly native: number;
  sign(msg: Buffer, key: Buffer, aux?: Buffer | null): Buffer;
  publicKeyCreate(key: Buffer): Buffer;
}

const require = createRequire(import.meta.url);
const schnorr = require('bcrypto/lib/schnorr') as BcryptoSchnorr;

/** True when bcrypto runs on libsecp256k1; the JavaScript fallback is ~50x slower. */
export const nativeSigner = schnorr.native === 2;

export interface KeyPair {
  readonly secret: Buffer;
  /** x-only public key, 64 lowercase hex. */
  readonly pubkey: string;
}

/** A deterministic key pair derived from a label (sha256 of the label as the secret key). */
export function deriveKeyPair(label: string): KeyPair {
  const secret = createHash('sha256').update(`orly-bench:${label}`).digest();
  return { secret, pubkey: schnorr.publicKeyCreate(secret).toString('hex') };
}

export interface EventTemplate {
  created_at: number;
  kind: number;
  tags: string[][];
  content: string;
}

export function signEvent(keys: KeyPair, template: EventTemplate): NostrEvent {
  const unsigned = { pubkey: keys.pubkey, ...template };
  const id = computeEventId(unsigned);
  const sig = schnorr.sign(Buffer.from(id, 'hex'), keys.secret).toString('hex');
  return { id, ...unsigned, sig };
}
