/**
 * NegentropyResponder: the NIP-77 responder capability (the relay's side of NEG-OPEN / NEG-MSG /
 * NEG-CLOSE, after the relay has checked the filter against the connection's AUTH state and its
 * own session caps). One interface, three speakers: LocalNegentropyResponder (in this process,
 * over an EventStore), GrpcNegentropyResponder (a client of orly-sync-negentropy) and the
 * service's HandleNeg* adapter (which serves a LocalNegentropyResponder over orly-db). The relay
 * does not know which one it holds.
 *
 * Replies are values, never exceptions: `{ message }` (hex) or `{ error }` (a NEG-ERR reason,
 * "closed: ...", "invalid: ...", "blocked: ...", "error: ..."; `maxRecords` is NEG-ERR's 4th
 * element with "blocked: too many query results"). Sessions are keyed by (connectionId, subId);
 * an open() replaces the key's session, close()/closeConnection() free quietly.
 */
import type { NormalizedFilter } from '../protocol/filter.js';
import type { ReadScope } from '../protocol/read-scope.js';

export interface NegSessionKey {
  readonly connectionId: string;
  readonly subId: string;
}

/** The relay policy a NEG-OPEN is answered under (its restricted kinds and caps). */
export interface NegPolicy {
  /** ORLY_AUTH_RESTRICTED_KINDS: ids of these kinds only reach their author or a p-tagged authed pubkey. */
  readonly restrictedKinds: ReadonlySet<number>;
  /** ORLY_NEGENTROPY_MAX_RECORDS. */
  readonly maxRecords: number;
  /** ORLY_NEGENTROPY_FRAME_SIZE (0 = no limit). */
  readonly frameSizeLimit: number;
}

/** Who asks: the connection's NIP-42 pubkeys and address; `policy` overrides the responder's own. */
export interface NegRequester {
  readonly authed: ReadonlySet<string>;
  readonly ip: string;
  readonly policy?: NegPolicy;
  /** Authors an access-control mode hides from this requester: their ids are left out of the set. */
  readonly hiddenAuthors?: ReadonlySet<string>;
  /**
   * What the write policy lets this requester read (src/protocol/read-scope.ts): hidden kinds'
   * ids left out, involved kinds treated as restricted ones; refused -> that NEG-ERR reason.
   * Absent when the policy does not restrict it.
   */
  readonly readScope?: ReadScope;
}

export type NegReply =
  | { readonly message: string }
  | { readonly error: string; readonly maxRecords?: number };

export interface NegentropyResponder {
  /** Opens (or replaces) the session for key with its item set and answers the initial message. */
  open(
    key: NegSessionKey,
    filter: NormalizedFilter,
    initialHex: string,
    requester: NegRequester,
  ): Promise<NegReply>;
  /** Answers the next message of an open session; any error closes the session. */
  message(key: NegSessionKey, hex: string): Promise<NegReply>;
  /** Frees one session (an open still running for it is discarded). */
  close(key: NegSessionKey): void;
  /** Frees every session of a connection (on disconnect). */
  closeConnection(connectionId: string): void;
  /** Frees everything; the responder is not used afterwards. */
  shutdown(): Promise<void>;
}
