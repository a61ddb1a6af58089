/**
 * BIP-340 signing for the relay's own events (its identity: NIP-42 AUTH to peers, NIP-98
 * tokens for the sync endpoints), on bcrypto's native backend like verification (schnorr.ts).
 * Keys are 32-byte secrets; signatures use 32 fresh random bytes of auxiliary data each.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { computeEventId, type NostrEvent } from '../protocol/event.js';

interface BcryptoSchnorrSigner {
  privateKeyGenerate(): Buffer;
  privateKeyVerify(key: Buffer): boolean;
  publicKeyCreate(key: Buffer): Buffer;
  sign(msg: Buffer, key: Buffer, aux?: Buffer): Buffer;
}

const require = createRequire(import.meta.url);
const schnorr = require('bcrypto/lib/schnorr') as BcryptoSchnorrSigner;

/** A fresh valid secret key. */
export function generateSecretKey(): Buffer {
  return schnorr.privateKeyGenerate();
}

/** True when `key` is a valid 32-byte secret key. */
export function isSecretKey(key: Buffer): boolean {
  return key.length === 32 && schnorr.privateKeyVerify(key);
}

/** The x-only public key (64 lowercase hex) of a secret key. */
export function publicKeyOf(secret: Buffer): string {
  return schnorr.publicKeyCreate(secret).toString('hex');
}

/** The unsigned part of an event the relay signs. */
export interface EventTemplate {
  readonly kind: number;
  readonly created_at: number;
  readonly tags: string[][];
  readonly content: string;
}

/** `template` signed by `secret`: id computed, BIP-340 signature over it. */
export function signEvent(template: EventTemplate, secret: Buffer): NostrEvent {
  const unsigned = {
    id: '',
    pubkey: publicKeyOf(secret),
    created_at: template.created_at,
    kind: template.kind,
    tags: template.tags,
    content: template.content,
    sig: '',
  };
  const id = computeEventId(unsigned);
  const sig = schnorr.sign(Buffer.from(id, 'hex'), secret, randomBytes(32)).toString('hex');
  return { ...unsigned, id, sig };
}
