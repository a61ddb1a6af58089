/**
 * How replicated events enter the store: the same rules as an EVENT from a client, minus the
 * connection. Each event is checked (shape, id, BIP-340 signature, never an ephemeral kind),
 * asked of access control as if the peer relay (its identity) had published it, asked of the
 * write policy with sourceType "Sync" and the peer's URL, saved (NIP-09 deletions and the
 * replaceable rules are the store's), and, when newly stored, handed to `onStored` (the relay's
 * live delivery in process; in split mode the relays learn of it from orly-db's change feed).
 */
import type { AccessControl } from '../acl/access-control.js';
import type { Admission, WritePolicy } from '../acl/policy/plugin-protocol.js';
import type { SignatureVerifier } from '../crypto/signature-verifier.js';
import { checkEventShape, computeEventId, type NostrEvent, nip01Event } from '../protocol/event.js';
import { isEphemeral } from '../protocol/kinds.js';
import type { ClientStore, SaveResult } from '../store/event-store.js';

export interface SyncIngestDeps {
  readonly store: Pick<ClientStore, 'save'>;
  readonly verifier: SignatureVerifier;
  readonly access?: AccessControl;
  readonly policy?: WritePolicy;
  /** A newly stored event (not a duplicate) and its serial. */
  readonly onStored?: (event: NostrEvent, serial: number) => void;
}

/** Where a batch of replicated events comes from. */
export interface SyncSourceInfo {
  /** The peer's URL (the policy's sourceInfo). */
  readonly url: string;
  /** The peer's identity, "" when unknown (then access control sees an unauthenticated writer). */
  readonly pubkey: string;
}

export type IngestOutcome = 'stored' | 'duplicate' | 'invalid' | 'rejected';

export class SyncIngest {
  constructor(private readonly deps: SyncIngestDeps) {}

  get verifier(): SignatureVerifier {
    return this.deps.verifier;
  }

  /** ACL then write policy, for one event from `source` (its signature already verified). */
  admitter(source: SyncSourceInfo): (event: NostrEvent) => Promise<Admission> {
    const requester = { authed: new Set(source.pubkey === '' ? [] : [source.pubkey]), ip: '' };
    return async (event) => {
      const denied = await this.deps.access?.checkEvent(event, requester);
      if (denied !== undefined) return { store: false, reason: denied };
      const policy = this.deps.policy;
      if (policy === undefined) return { store: true };
      const verdict = await policy.decide({
        event,
        receivedAt: Math.floor(Date.now() / 1000),
        sourceType: 'Sync',
        sourceInfo: source.url,
      });
      if (verdict.action === 'accept') return { store: true };
      if (verdict.action === 'shadowReject') return { store: false };
      return { store: false, reason: verdict.msg };
    };
  }

  /** The store downloads save to: newly stored events go on to onStored. */
  get store(): Pick<ClientStore, 'save'> {
    return {
      save: async (event: NostrEvent, raw?: string): Promise<SaveResult> => {
        const result = await this.deps.store.save(event, raw);
        if (result.stored && !result.duplicate) this.deps.onStored?.(event, result.serial);
        return result;
      },
    };
  }

  /** One event as received from a peer (e.g. its live subscription): every check, then save. */
  async ingest(value: unknown, source: SyncSourceInfo): Promise<IngestOutcome> {
    if (checkEventShape(value) !== undefined) return 'invalid';
    const event = nip01Event(value as NostrEvent);
    if (computeEventId(event) !== event.id) return 'invalid';
    if (isEphemeral(event.kind)) return 'rejected';
    if (!(await this.deps.verifier.verify(event.id, event.pubkey, event.sig))) return 'invalid';
    const admission = await this.admitter(source)(event);
    if (!admission.store) return 'rejected';
    const result = await this.store.save(event);
    if (!result.stored) return 'rejected';
    return result.duplicate ? 'duplicate' : 'stored';
  }
}
