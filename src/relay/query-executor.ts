/**
 * The one path of REQ and COUNT to the store. The relay hands it parsed filters, the requester
 * and a cancellation signal; limits (ORLY_DEFAULT_LIMIT / ORLY_MAX_LIMIT / ORLY_MAX_COUNT),
 * restricted-kind visibility (NIP-42), the access control's hidden authors, the write policy's
 * per-reader read scope (hidden kinds, kinds needing involvement: ./query-scope.ts) and
 * de-duplication across filters live here, once, for every store: a store-side executor when the store has one available (LMDB's query worker
 * threads: ready frames built beside the event loop), else the store's query() in the event
 * loop (LMDB without workers, orly-db over gRPC, any future backend).
 *
 * Every REQ and COUNT passes through send()/count() and waits its turn in one QueryScheduler:
 * a bounded number run at once, a bounded number per connection (beyond: `rate-limited:`),
 * round robin between connections, and work cancelled while it waits never runs.
 */
import { Reasons } from '../errors.js';
import { nowSeconds } from '../protocol/event.js';
import { matchesNothing, type NormalizedFilter } from '../protocol/filter.js';
import { countSplit, withoutHiddenAuthors } from '../protocol/hidden-authors.js';
import { type ReadScope, withoutHiddenKinds } from '../protocol/read-scope.js';
import type { ClientStore, EventWrap, StoredEvent, Timeslice } from '../store/event-store.js';
import type { FrameChunk } from '../store/query-frames.js';
import { QueryCancelled, QueryScheduler } from './query-scheduler.js';
import {
  baseRules,
  mayReturnInvolved,
  type RequestRules,
  readableInvolved,
  scopedRules,
  withheld,
} from './query-scope.js';

export interface QueryPolicy {
  readonly restrictedKinds: ReadonlySet<number>;
  /** Clamp for a filter's limit. */
  readonly maxLimit: number;
  /** The limit of a filter without one. */
  readonly defaultLimit: number;
  /** COUNT stops at this many matches (answered as approximate). */
  readonly maxCount: number;
  /** COUNT examines at most this many candidates per store call; beyond, the count so far, approximate. */
  readonly maxCountScan: number;
  /** Milliseconds a query holds its slot before others get a turn (strfry's timeslice). */
  readonly sliceMs: number;
  /** REQs and COUNTs running at once. */
  readonly concurrency: number;
  /** REQs and COUNTs of one requester waiting or running. */
  readonly maxQueriesPerConnection: number;
  /** Authors whose events this requester must not be served (the access-control mode's bans). */
  readonly hiddenAuthors?: (requester: QueryRequester) => ReadonlySet<string> | undefined;
  /**
   * What the write policy lets this requester read (hidden kinds, kinds needing involvement);
   * undefined = nothing more than the relay's own restrictions. Applied alongside them.
   */
  readonly readScope?: (requester: QueryRequester) => ReadScope | undefined;
  /**
   * Readers exempt from the restricted kinds (cluster members replicating privileged events,
   * ORLY_CLUSTER_PROPAGATE_PRIVILEGED_EVENTS): true when one of these pubkeys is authenticated.
   */
  readonly trustedReader?: (authed: ReadonlySet<string>) => boolean;
}

/** How a send() ended: results sent, the requester went away (or closed it), or refused. */
export type SendOutcome =
  | { readonly sent: Set<string> }
  | { readonly cancelled: true }
  | { readonly refused: string };

/** Who asks (its identity is its queue in the scheduler): the pubkeys it authenticated as (NIP-42). */
export interface QueryRequester {
  readonly authed: ReadonlySet<string>;
}

/** Where results go: a subscription's EVENT frames. Each send returns false once the receiver is gone. */
export interface ResultSink {
  /** The bytes around an event's JSON in this receiver's EVENT frames. */
  readonly wrap: EventWrap;
  /** Ready frames [ends[i-1] (or `start`), ends[i]) of `data` for i in [from, to), in one go where it can. */
  sendFrames(data: Uint8Array, ends: ArrayLike<number>, from: number, to: number, start: number): boolean;
  sendStored(stored: StoredEvent): boolean;
  /** Undefined, or a promise to await (without a query slot) before sending more: the receiver reads slowly. */
  backpressure(): Promise<void> | undefined;
}

export class QueryExecutor {
  /** The rules of a requester the write policy does not restrict: the restricted kinds alone. */
  private readonly base: RequestRules;
  private readonly trustedBase: RequestRules;
  readonly scheduler: QueryScheduler;

  constructor(
    private readonly store: ClientStore,
    private readonly policy: QueryPolicy,
  ) {
    this.base = baseRules(policy.restrictedKinds);
    this.trustedBase = baseRules(new Set());
    this.scheduler = new QueryScheduler(policy.concurrency, policy.maxQueriesPerConnection, policy.sliceMs);
  }

  /**
   * Sends the stored results of `filters` once the scheduler gives this requester a turn; see
   * sendNow(). Refused at once when the requester has too many queries in progress.
   */
  async send(
    filters: readonly NormalizedFilter[],
    requester: QueryRequester,
    signal: AbortSignal,
    sink: ResultSink,
  ): Promise<SendOutcome> {
    const outcome = await this.inTurn(requester, signal, (slice) =>
      this.sendNow(filters, requester, signal, sink, slice),
    );
    if ('refused' in outcome || 'cancelled' in outcome) return outcome;
    return outcome.value === undefined ? { cancelled: true } : { sent: outcome.value };
  }

  /** NIP-45 count in the scheduler's turn; refused when the requester has too many in progress. */
  async count(
    filters: readonly NormalizedFilter[],
    requester: QueryRequester,
    signal: AbortSignal,
  ): Promise<{ count: number; capped: boolean } | { refused: string } | { cancelled: true }> {
    const outcome = await this.inTurn(requester, signal, (slice) => this.countNow(filters, requester, slice));
    return 'value' in outcome ? outcome.value : outcome;
  }

  /** Runs `work` in the requester's turn; refused at once past its bound, cancelled if the signal aborts first. */
  private async inTurn<T>(
    requester: QueryRequester,
    signal: AbortSignal,
    work: (slice: Timeslice) => Promise<T>,
  ): Promise<{ value: T } | { refused: string } | { cancelled: true }> {
    const turn = this.scheduler.schedule(requester, signal, work);
    if (turn === undefined) return { refused: Reasons.tooManyQueries(this.policy.maxQueriesPerConnection) };
    try {
      return { value: await turn };
    } catch (err) {
      if (err instanceof QueryCancelled) return { cancelled: true };
      throw err;
    }
  }

  /** This request's rules: the base ones unless the write policy restricts the requester. */
  private rulesFor(requester: QueryRequester): RequestRules {
    const base =
      requester.authed.size > 0 && this.policy.trustedReader?.(requester.authed)
        ? this.trustedBase
        : this.base;
    const scope = this.policy.readScope?.(requester);
    return scope === undefined ? base : scopedRules(base, scope, requester.authed);
  }

  /**
   * Sends the stored results of `filters` (each with its own limit, newest first, de-duplicated
   * across filters). Resolves with the ids sent, or undefined when the signal aborted or the
   * sink went away meanwhile.
   */
  private async sendNow(
    filters: readonly NormalizedFilter[],
    requester: QueryRequester,
    signal: AbortSignal,
    sink: ResultSink,
    slice: Timeslice,
  ): Promise<Set<string> | undefined> {
    const { maxLimit, defaultLimit } = this.policy;
    const now = nowSeconds();
    const sent = new Set<string>();
    const rules = this.rulesFor(requester);
    if (rules.nothing) return signal.aborted ? undefined : sent;
    const hidden = this.policy.hiddenAuthors?.(requester);
    for (const asked of filters) {
      const limit = Math.min(asked.limit ?? defaultLimit, maxLimit);
      const byAuthor = withoutHiddenAuthors(asked, hidden);
      const { filter, checkEach: checkKinds } = withoutHiddenKinds(byAuthor.filter, rules.hiddenKinds);
      const checkAuthors = byAuthor.checkEach;
      if (limit === 0 || matchesNothing(filter)) continue;
      const checkRestricted = mayReturnInvolved(filter, rules);
      const checkEach = checkRestricted || checkAuthors || checkKinds;
      const chunks = this.store.queryFrames?.(
        {
          filter: { ...filter, limit: checkEach ? undefined : limit },
          limit,
          now,
          prefix: sink.wrap.prefix,
          checkRestricted,
          restrictedKinds: rules.involvedList,
          authed: [...requester.authed],
          ...(checkAuthors ? { hiddenAuthors: [...hidden!] } : {}),
          ...(checkKinds ? { hiddenKinds: [...rules.hiddenKinds] } : {}),
          ...(rules.allInvolved ? { allInvolved: true } : {}),
        },
        slice,
      );
      const done =
        chunks !== undefined
          ? await sendChunks(chunks, signal, sink, sent, slice)
          : await this.sendFromStore(
              filter,
              limit,
              checkEach,
              now,
              requester,
              signal,
              sink,
              sent,
              slice,
              rules,
              hidden,
            );
      if (!done) return undefined;
    }
    return signal.aborted ? undefined : sent;
  }

  /**
   * NIP-45: the number of stored events matching any of the filters that the requester could
   * read, or the cap (approximate) when ORLY_MAX_COUNT or more match. Neither the number nor
   * the cap ever depends on events the requester may not see: restricted kinds (and the kinds
   * its read scope wants involvement for; every kind with allInvolved) are counted apart, only
   * those authored by or p-tagging one of its authenticated pubkeys; its hidden kinds are pruned
   * from filters naming them and excluded from the others. A store call
   * that examines ORLY_MAX_COUNT_SCAN candidates answers the count so far, approximate; the
   * candidates it skips by kind (hidden ones) are not part of that budget, so neither is the
   * approximate flag a window on hidden events.
   */
  private async countNow(
    all: readonly NormalizedFilter[],
    requester: QueryRequester,
    timeslice: Timeslice,
  ): Promise<{ count: number; capped: boolean }> {
    const rules = this.rulesFor(requester);
    if (rules.nothing) return { count: 0, capped: false };
    const { authed } = requester;
    const { counted, subtract } = countSplit(
      all.map((f) => withoutHiddenKinds({ ...f, limit: undefined }, rules.hiddenKinds).filter),
      this.policy.hiddenAuthors?.(requester),
    );
    const filters = counted.filter((f) => !matchesNothing(f));
    if (filters.length === 0) return { count: 0, capped: false };
    const { maxCount: max, maxCountScan: maxScan } = this.policy;
    const now = nowSeconds();
    const none = { count: 0, approximate: false };
    // Open kinds: all but the hidden and involved ones (none at all when every kind needs involvement).
    const excludeKinds = rules.uncounted.size > 0 ? { excludeKinds: rules.uncounted } : {};
    const countOpen = (f: NormalizedFilter[], limit?: number) =>
      rules.allInvolved
        ? none
        : this.store.count(f, { max: limit, maxScan, now, timeslice, ...excludeKinds });
    // Involved kinds, narrowed to the requester's own events and those p-tagging it; never a hidden kind.
    const hiddenKinds = rules.hiddenKinds.size > 0 ? { excludeKinds: rules.hiddenKinds } : {};
    const countInvolved = (f: NormalizedFilter[], limit?: number) => {
      const readable = readableInvolved(f, rules, authed);
      return readable.length === 0
        ? none
        : this.store.count(readable, { max: limit, maxScan, now, timeslice, ...hiddenKinds });
    };
    const open = await countOpen(filters, max);
    if (open.approximate) return { count: open.count, capped: true };
    const visible = await countInvolved(filters, max - open.count);
    let total = open.count + visible.count;
    if (subtract.length > 0) {
      // The hidden authors' events among the counted ones (open kinds and readable involved ones).
      total -= (await countOpen(subtract)).count;
      total -= (await countInvolved(subtract)).count;
      total = Math.max(0, total);
    }
    return { count: Math.min(total, max), capped: visible.approximate || total >= max };
  }

  /**
   * One filter through store.query(). The store always applies a limit, so a remote store's
   * stream ends by itself (a stream reset per REQ looks like an HTTP/2 rapid-reset attack to
   * servers). When results are checked one by one (restricted, involved or hidden kinds, hidden
   * authors) and some were withheld or already sent, further pages from the last result's
   * created_at on make up for them: each one `limit` longer than the results it reads again at
   * that created_at, so it always brings up to `limit` events not seen before (even with a limit
   * of 1, or many events at one created_at). False when the receiver went away.
   */
  private async sendFromStore(
    filter: NormalizedFilter,
    limit: number,
    checkEach: boolean,
    now: number,
    requester: QueryRequester,
    signal: AbortSignal,
    sink: ResultSink,
    sent: Set<string>,
    slice: Timeslice,
    rules: RequestRules,
    hiddenAuthors: ReadonlySet<string> | undefined,
  ): Promise<boolean> {
    const hidden = new Set<string>();
    let count = 0;
    let page: NormalizedFilter = { ...filter, limit };
    const read: StoredEvent[] = [];
    for (;;) {
      let got = 0;
      let fresh = 0;
      read.length = 0;
      for await (const stored of this.store.query(page, { signal, now, wrap: sink.wrap, timeslice: slice })) {
        if (signal.aborted) return false;
        if (slice.expired()) await slice.pause();
        got++;
        if (checkEach) read.push(stored);
        const id = stored.id;
        if (sent.has(id) || hidden.has(id)) continue;
        fresh++;
        if (checkEach && withheld(stored, rules, requester.authed, hiddenAuthors)) {
          hidden.add(id);
          continue;
        }
        sent.add(id);
        if (!sink.sendStored(stored)) return false;
        if (++count >= limit) return true;
        const drained = sink.backpressure();
        if (drained !== undefined) await slice.pause(drained);
      }
      // Without checks the store's limit is the answer; else another page only if this one was full.
      if (!checkEach || got < (page.limit ?? 0) || fresh === 0 || read.length === 0) return true;
      const until = read[read.length - 1]!.event.created_at;
      let again = 0;
      while (again < read.length && read[read.length - 1 - again]!.event.created_at === until) again++;
      page = { ...filter, until, limit: limit + again };
    }
  }
}

/** Sends a store-side executor's frames, skipping ids already sent; false when the receiver went away. */
async function sendChunks(
  chunks: AsyncIterableIterator<FrameChunk>,
  signal: AbortSignal,
  sink: ResultSink,
  sent: Set<string>,
  slice: Timeslice,
): Promise<boolean> {
  // Closed or replaced while waiting for the worker: stop waiting (and let the worker skip it).
  const onAbort = () => void chunks.return?.();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of chunks) {
      if (signal.aborted) return false;
      if (!sendNew(chunk, sink, sent)) return false;
      // A slow reader: no more chunks (so no more slices on the worker) until its socket drains.
      const drained = sink.backpressure();
      if (drained !== undefined) await slice.pause(drained);
    }
    return !signal.aborted;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Sends the frames of a chunk whose ids were not sent yet: runs of new frames go out together
 * (usually the whole chunk); false when the receiver went away.
 */
function sendNew(chunk: FrameChunk, sink: ResultSink, sent: Set<string>): boolean {
  const { data, ends, ids } = chunk;
  let runFrom = 0;
  let runStart = 0;
  for (let i = 0; i <= ends.length; i++) {
    if (i < ends.length) {
      const id = ids.slice(i * 64, i * 64 + 64);
      if (!sent.has(id)) {
        sent.add(id);
        continue;
      }
    }
    if (i > runFrom && !sink.sendFrames(data, ends, runFrom, i, runStart)) return false;
    runFrom = i + 1;
    runStart = i < ends.length ? ends[i]! : 0;
  }
  return true;
}
