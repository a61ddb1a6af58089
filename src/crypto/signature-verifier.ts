/**
 * BIP-340 signature verification of Nostr events. The id check (sha256 of the canonical
 * serialization) happens on the caller's thread; implementations only check the Schnorr
 * signature of `id` by `pubkey`.
 */
export interface SignatureVerifier {
  /** Resolves true when `sig` is a valid BIP-340 signature of `id` by `pubkey` (all lowercase hex). */
  verify(id: string, pubkey: string, sig: string): Promise<boolean>;
  close(): Promise<void>;
}
