/**
 * LocalNegentropyResponder: the NIP-77 responder in this process, over a store's ClientStore
 * (query) and SyncSource (negentropyItems) roles (the relay's own store, or orly-db through
 * GrpcEventStore inside orly-sync-negentropy).
 *
 * Item set: every stored, unexpired event matching the filter (an explicit `limit` keeps the
 * newest `limit`, as a REQ would); more than maxRecords matches -> "blocked: too many query
 * results" with the cap. Visibility: a NEG-OPEN never reveals an id a REQ would not serve. When
 * the filter may match restricted kinds, those events are looked up separately and every one the
 * requester may not read is removed: no authed pubkey -> all of them (an ids-only lookup), else
 * those neither authored by nor p-tagging an authed pubkey. (The two lookups are not one
 * snapshot: a restricted event stored and then removed between them could keep its id in the
 * set. Storing alone cannot leak: the restricted lookup runs second.) A write policy's read
 * scope (NegRequester.readScope) is applied the same way: its involved kinds as restricted
 * ones, its hidden kinds left out, and a refusal answered as the NEG-ERR reason (./item-set.ts).
 *
 * Sessions: keyed by (connectionId, subId); an open() replaces the key (a slower, older open is
 * discarded: its entry is no longer current); errors close the session. With `sessionTimeoutMs`
 * and start(), idle sessions are freed silently by one sweep (the service does this; inside the
 * relay, the relay's own session table times sessions out and tells the client). With
 * `maxSessionsPerConnection`, an open() that would add a session (not replace one) to a
 * connection already holding that many (opening ones included) is refused with "blocked: too
 * many open negentropy sessions" (the service does this; the relay enforces its own cap).
 */

import { Reasons } from '../errors.js';
import type { Logger } from '../logger.js';
import type { NormalizedFilter } from '../protocol/filter.js';
import { Responder } from './codec/reconcile.js';
import { NegentropySession } from './codec/session.js';
import { type PackedItems, SealedVector } from './codec/storage.js';
import { fromHex, NegentropyError, toHex } from './codec/types.js';
import { ItemBudget } from './item-budget.js';
import { buildItems, EMPTY_ITEMS, type NegentropyStore } from './item-set.js';
import type { NegentropyResponder, NegPolicy, NegReply, NegRequester, NegSessionKey } from './responder.js';
import { type SessionEntry, SessionTable } from './session-table.js';

export interface LocalNegentropyResponderOptions {
  readonly store: NegentropyStore;
  /** Used when a requester brings none. */
  readonly policy: NegPolicy;
  readonly logger: Logger;
  /** Idle sessions are freed after this long once start() ran (0/undefined = never). */
  readonly sessionTimeoutMs?: number;
  /** Open (or opening) sessions allowed per connectionId (undefined = no cap). */
  readonly maxSessionsPerConnection?: number;
  /** Items the item sets of all open sessions may hold together (default 2,000,000). */
  readonly maxItemsTotal?: number;
  /** Items the sessions of one client address may hold together (default 1,000,000). */
  readonly maxItemsPerIp?: number;
}

export const DEFAULT_MAX_ITEMS_TOTAL = 2_000_000;
export const DEFAULT_MAX_ITEMS_PER_IP = 1_000_000;

export class LocalNegentropyResponder implements NegentropyResponder {
  private readonly sessions: SessionTable<string, NegentropySession | undefined>;
  private readonly budget: ItemBudget;
  /** What each built session took from the budget. */
  private readonly holdings = new Map<
    SessionEntry<NegentropySession | undefined>,
    { ip: string; items: number }
  >();

  constructor(private readonly options: LocalNegentropyResponderOptions) {
    this.budget = new ItemBudget(
      options.maxItemsTotal ?? DEFAULT_MAX_ITEMS_TOTAL,
      options.maxItemsPerIp ?? DEFAULT_MAX_ITEMS_PER_IP,
    );
    this.sessions = new SessionTable({
      idleTimeoutMs: options.sessionTimeoutMs ?? 0,
      maxPerConnection: options.maxSessionsPerConnection,
      onRemove: (entry) => {
        const held = this.holdings.get(entry);
        if (held === undefined) return;
        this.holdings.delete(entry);
        this.budget.give(held.ip, held.items);
      },
    });
  }

  /** Items held by the item sets of open sessions. */
  get heldItems(): number {
    return this.budget.total;
  }

  /** Starts the idle sweep (with a sessionTimeoutMs). */
  start(): void {
    this.sessions.start();
  }

  /** Open (or opening) sessions of all connections. */
  get total(): number {
    return this.sessions.total;
  }

  async open(
    key: NegSessionKey,
    filter: NormalizedFilter,
    initialHex: string,
    requester: NegRequester,
  ): Promise<NegReply> {
    this.close(key);
    const policy = requester.policy ?? this.options.policy;
    const refused = requester.readScope?.refused;
    if (refused !== undefined) return { error: refused };
    let initial: Uint8Array;
    try {
      initial = fromHex(initialHex);
      // Parse the whole message once (against nothing) so garbage never costs a query.
      new Responder(SealedVector.fromSorted(EMPTY_ITEMS)).reconcile(initial);
    } catch (err) {
      return { error: Reasons.negBadMessage(errorText(err)) };
    }
    // The key's previous session is closed above, so a replacement never counts against the cap.
    if (this.sessions.isFull(key.connectionId))
      return { error: Reasons.negTooManySessions(this.options.maxSessionsPerConnection!) };
    const entry = this.sessions.reserve(key.connectionId, key.subId, undefined);
    const started = Date.now();
    let items: PackedItems | undefined;
    try {
      items = await buildItems(this.options.store, filter, policy.maxRecords, {
        restrictedKinds: policy.restrictedKinds,
        authed: requester.authed,
        hiddenAuthors: requester.hiddenAuthors,
        readScope: requester.readScope,
      });
    } catch (err) {
      this.options.logger.error(
        { err: errorText(err), conn: key.connectionId, sub: key.subId },
        'negentropy query failed',
      );
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.queryFailed(errorText(err)) };
    }
    if (!this.sessions.isCurrent(key.connectionId, key.subId, entry))
      return { error: Reasons.negUnknownSession };
    if (items === undefined) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.negTooManyRecords, maxRecords: policy.maxRecords };
    }
    if (!this.budget.take(requester.ip, items.count)) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.negBudgetExhausted };
    }
    this.holdings.set(entry, { ip: requester.ip, items: items.count });
    const now = Date.now();
    const session = new NegentropySession(
      key.subId,
      SealedVector.fromSorted(items),
      { frameSizeLimit: policy.frameSizeLimit },
      now,
    );
    let reply: Uint8Array;
    try {
      reply = session.handle(initial, now);
    } catch (err) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: this.reasonFor(key, err) };
    }
    entry.state = session;
    entry.ready = true;
    entry.touch(now);
    this.options.logger.debug(
      { conn: key.connectionId, sub: key.subId, ip: requester.ip, items: items.count, ms: now - started },
      'negentropy session opened',
    );
    return { message: toHex(reply) };
  }

  async message(key: NegSessionKey, hex: string): Promise<NegReply> {
    const entry = this.sessions.get(key.connectionId, key.subId);
    if (entry === undefined) return { error: Reasons.negUnknownSession };
    const session = entry.state;
    if (session === undefined) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: Reasons.negNotReady };
    }
    try {
      const now = Date.now();
      entry.touch(now);
      return { message: toHex(session.handle(fromHex(hex), now)) };
    } catch (err) {
      this.sessions.drop(key.connectionId, key.subId, entry);
      return { error: this.reasonFor(key, err) };
    }
  }

  close(key: NegSessionKey): void {
    this.sessions.close(key.connectionId, key.subId);
  }

  closeConnection(connectionId: string): void {
    this.sessions.closeConnection(connectionId);
  }

  /** Frees sessions idle for the timeout or longer (silently). */
  sweep(now: number): void {
    this.sessions.sweep(now);
  }

  async shutdown(): Promise<void> {
    this.sessions.stop();
  }

  /** NegentropyError -> invalid: (the peer's fault); anything else is ours -> error:, logged. */
  private reasonFor(key: NegSessionKey, err: unknown): string {
    if (err instanceof NegentropyError) return Reasons.negBadMessage(err.message);
    this.options.logger.error({ err: errorText(err), conn: key.connectionId }, 'negentropy reconcile failed');
    return Reasons.negFailed(errorText(err));
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
