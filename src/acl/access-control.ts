/**
 * The access-control capability. Local mode uses `OpenAccessControl` (ACL mode "none");
 * the follows / managed / curating modes and the gRPC client (orly-acl) implement the same
 * interface, so the relay never knows which one it holds.
 */
import type { NostrEvent } from '../protocol/event.js';

export type AccessLevel = 'none' | 'read' | 'write' | 'admin' | 'owner' | 'blocked' | 'banned';

/** Who is asking: the pubkeys authenticated on the connection (NIP-42) and the client IP. */
export interface Requester {
  readonly authed: ReadonlySet<string>;
  readonly ip: string;
}

export interface AccessControl {
  readonly mode: string;
  /** May this requester publish this event? undefined = yes, else a NIP-01 reason ("blocked: ..."). */
  checkEvent(event: NostrEvent, requester: Requester): Promise<string | undefined> | string | undefined;
  /** Told about every stored event (e.g. follows mode refreshes on an admin's kind 3). */
  eventStored?(event: NostrEvent): void;
  close(): Promise<void>;
}

export class OpenAccessControl implements AccessControl {
  readonly mode = 'none';
  checkEvent(): undefined {
    return undefined;
  }
  async close(): Promise<void> {}
}
