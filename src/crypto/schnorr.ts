/**
 * Synchronous BIP-340 Schnorr verification of Nostr event ids, a thin wrapper over
 * bcrypto's native (libsecp256k1) backend. Importing this module fails loudly when
 * bcrypto fell back to its pure-JavaScript backend, which is ~50x slower: a relay
 * silently running on it would be unusable under load.
 *
 * Used inline (0 verify workers) and inside each verify worker (src/crypto/verify-worker.ts).
 */
import { createRequire } from 'node:module';
import { isHex64, isHex128 } from '../protocol/event.js';

interface BcryptoSchnorr {
  /** 2 for the native backend, 0 for the JavaScript one. */
  readonly native: number;
  verify(msg: Buffer, sig: Buffer, key: Buffer): boolean;
}

const require = createRequire(import.meta.url);
const schnorr = require('bcrypto/lib/schnorr') as BcryptoSchnorr;

if (schnorr.native !== 2) {
  throw new Error(
    'bcrypto native backend is not loaded (schnorr.native = ' +
      String(schnorr.native) +
      '): rebuild bcrypto for this Node version (npm rebuild bcrypto) and make sure NODE_BACKEND is not "js"',
  );
}

/**
 * True when `sig` (128 lowercase hex) is a valid BIP-340 signature of the 32-byte message
 * `idHex` (64 lowercase hex) by the x-only public key `pubkeyHex` (64 lowercase hex).
 * Never throws: malformed input (wrong length, uppercase or non-hex) yields false.
 */
export function verifySchnorr(idHex: string, pubkeyHex: string, sigHex: string): boolean {
  if (!isHex64(idHex) || !isHex64(pubkeyHex) || !isHex128(sigHex)) return false;
  try {
    return schnorr.verify(
      Buffer.from(idHex, 'hex'),
      Buffer.from(sigHex, 'hex'),
      Buffer.from(pubkeyHex, 'hex'),
    );
  } catch {
    return false;
  }
}

/**
 * The same check on raw bytes (32-byte message, 64-byte signature, 32-byte x-only key).
 * Never throws: wrong lengths yield false.
 */
export function verifySchnorrBytes(msg: Buffer, sig: Buffer, pubkey: Buffer): boolean {
  if (msg.length !== 32 || sig.length !== 64 || pubkey.length !== 32) return false;
  try {
    return schnorr.verify(msg, sig, pubkey);
  } catch {
    return false;
  }
}
