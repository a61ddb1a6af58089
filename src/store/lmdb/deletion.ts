/**
 * NIP-09 deletion requests (kind 5): which ids and which addresses one request targets.
 * Pure code, no I/O.
 */
import { isHex64, type NostrEvent } from '../../protocol/event.js';
import { isAddressable, isReplaceable } from '../../protocol/kinds.js';

export interface AddressRef {
  readonly kind: number;
  readonly pubkey: string;
  readonly d: string;
}

export interface DeletionTargets {
  /** Event ids from `e` tags (valid 64-char lowercase hex only). */
  readonly ids: string[];
  /** Addresses from `a` tags that name the deleter's own replaceable or addressable events. */
  readonly addresses: AddressRef[];
}

const KIND_DIGITS = /^\d{1,5}$/;

/**
 * Parses "kind:pubkey:d" (d may contain ':'; a missing d is ""). Returns undefined unless the
 * kind is replaceable or addressable and the pubkey is valid hex. A replaceable address must
 * have an empty d, since that is the only address such an event has.
 */
export function parseAddress(value: string): AddressRef | undefined {
  const first = value.indexOf(':');
  if (first <= 0) return undefined;
  const kindText = value.slice(0, first);
  if (!KIND_DIGITS.test(kindText)) return undefined;
  const kind = Number(kindText);
  const second = value.indexOf(':', first + 1);
  const pubkey = second < 0 ? value.slice(first + 1) : value.slice(first + 1, second);
  const d = second < 0 ? '' : value.slice(second + 1);
  if (!isHex64(pubkey)) return undefined;
  if (isAddressable(kind)) return { kind, pubkey, d };
  if (isReplaceable(kind) && d === '') return { kind, pubkey, d };
  return undefined;
}

export function deletionTargets(deletion: NostrEvent): DeletionTargets {
  const ids: string[] = [];
  const addresses: AddressRef[] = [];
  for (const tag of deletion.tags) {
    const value = tag[1];
    if (value === undefined) continue;
    if (tag[0] === 'e') {
      if (isHex64(value)) ids.push(value);
    } else if (tag[0] === 'a') {
      const address = parseAddress(value);
      if (address !== undefined && address.pubkey === deletion.pubkey) addresses.push(address);
    }
  }
  return { ids, addresses };
}
