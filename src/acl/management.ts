/**
 * The management side of an access-control mode (NIP-86): what the relay's management API
 * hands over once the caller is authenticated (NIP-98) and known to be an owner or admin. The
 * method table belongs to the mode (managed, curating), so `supportedmethods` lists exactly
 * what works in it; the relay only moves requests and answers, locally or over gRPC.
 */

/** A NIP-86 answer: `{"result": …}` or `{"error": "…"}` (both HTTP 200). */
export type ManagementOutcome = { readonly result: unknown } | { readonly error: string };

/** Relay information set over NIP-86 (changerelayname, …), shown in NIP-11 over the configured values. */
export interface RelayInfoOverrides {
  readonly name?: string;
  readonly description?: string;
  readonly icon?: string;
}

export interface AclManagement {
  /** Runs one NIP-86 method for `caller` (an owner or admin, hex pubkey); unknown methods and bad params are `error`s. */
  manage(method: string, params: readonly unknown[], caller: string): Promise<ManagementOutcome>;
  /** The relay information set over NIP-86 so far. */
  relayInfo(): Promise<RelayInfoOverrides>;
}
