/** NIP-01 kind classes. Pure functions. */

export function isReplaceable(kind: number): boolean {
  return kind === 0 || kind === 3 || (kind >= 10000 && kind < 20000);
}

export function isEphemeral(kind: number): boolean {
  return kind >= 20000 && kind < 30000;
}

export function isAddressable(kind: number): boolean {
  return kind >= 30000 && kind < 40000;
}

/** Replaceable or addressable: only the latest version per address is kept. */
export function isVersioned(kind: number): boolean {
  return isReplaceable(kind) || isAddressable(kind);
}

export const KIND_DELETION = 5;
export const KIND_REPOST = 6;
export const KIND_GENERIC_REPOST = 16;
export const KIND_CLIENT_AUTH = 22242;

/** ORLY_AUTH_RESTRICTED_KINDS' default: DMs (4) and gift wraps (1059), readable only by those involved. */
export const DEFAULT_RESTRICTED_KINDS: readonly number[] = [4, 1059];
