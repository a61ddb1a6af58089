/**
 * The one path of REQ and COUNT to the store. The relay hands it parsed filters, the requester
 * and a cancellation signal; limits (ORLY_DEFAULT_LIMIT / ORLY_MAX_LIMIT / ORLY_MAX_COUNT),
 * restricted-kind visibility (NIP-42) and de-duplication across filters live here, once, for
 * every store: a store-side executor when the store has one available (LMDB's query worker
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
import { isVisibleTo, mayReturnRestricted } from '../protocol/visibility.js';
import type { ClientStore, EventWrap, StoredEvent, Timeslice } from '../store/event-store.js';
import type { FrameChunk } from '../store/query-frames.js';
import { QueryCancelled, QueryScheduler } from './query-scheduler.js';

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
  sendFrame(frame: Uint8Array): boolean;
  sendStored(stored: StoredEvent): boolean;
  /** Undefined, or a promise to await (without a query slot) before sending more: the receiver reads slowly. */
  backpressure(): Promise<void> | undefined;
}

export class QueryExecutor {
  private readonly restrictedList: readonly number[];
  readonly scheduler: QueryScheduler;

  constructor(
    private readonly store: ClientStore,
    private readonly policy: QueryPolicy,
  ) {
    this.restrictedList = [...policy.restrictedKinds];
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
    const { maxLimit, defaultLimit, restrictedKinds } = this.policy;
    const now = nowSeconds();
    const sent = new Set<string>();
    const hidden = this.policy.hiddenAuthors?.(requester);
    for (const asked of filters) {
      const limit = Math.min(asked.limit ?? defaultLimit, maxLimit);
      const { filter, checkEach: checkAuthors } = withoutHiddenAuthors(asked, hidden);
      if (limit === 0 || matchesNothing(filter)) continue;
      const checkRestricted = mayReturnRestricted(filter, restrictedKinds);
      const checkEach = checkRestricted || checkAuthors;
      const chunks = this.store.queryFrames?.(
        {
          filter: { ...filter, limit: checkEach ? undefined : limit },
          limit,
          now,
          prefix: sink.wrap.prefix,
          checkRestricted,
          restrictedKinds: this.restrictedList,
          authed: [...requester.authed],
          ...(checkAuthors ? { hiddenAuthors: [...hidden!] } : {}),
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
              hidden,
            );
      if (!done) return undefined;
    }
    return signal.aborted ? undefined : sent;
  }

  /**
   * NIP-45: the number of stored events matching any of the filters that the requester could
   * read, or the cap (approximate) when ORLY_MAX_COUNT or more match. Neither the number nor
   * the cap ever depends on events the requester may not see: restricted kinds are counted
   * apart, only those authored by or p-tagging one of its authenticated pubkeys. A store call
   * that examines ORLY_MAX_COUNT_SCAN candidates answers the count so far, approximate; the
   * candidates it skips by kind (hidden ones) are not part of that budget, so neither is the
   * approximate flag a window on hidden events.
   */
  private async countNow(
    all: readonly NormalizedFilter[],
    requester: QueryRequester,
    timeslice: Timeslice,
  ): Promise<{ count: number; capped: boolean }> {
    const { counted, subtract } = countSplit(
      all.map((f) => ({ ...f, limit: undefined })),
      this.policy.hiddenAuthors?.(requester),
    );
    const filters = counted.filter((f) => !matchesNothing(f));
    if (filters.length === 0) return { count: 0, capped: false };
    const { maxCount: max, maxCountScan: maxScan, restrictedKinds } = this.policy;
    const now = nowSeconds();
    const excludeKinds = restrictedKinds.size > 0 ? { excludeKinds: restrictedKinds } : {};
    const open = await this.store.count(filters, { max, maxScan, now, timeslice, ...excludeKinds });
    if (open.approximate) return { count: open.count, capped: true };
    const readable = readableRestricted(filters, restrictedKinds, requester.authed);
    const visible =
      readable.length === 0
        ? { count: 0, approximate: false }
        : await this.store.count(readable, { max: max - open.count, maxScan, now, timeslice });
    let total = open.count + visible.count;
    if (subtract.length > 0) {
      // The hidden authors' events among the counted ones (open kinds and readable restricted ones).
      total -= (await this.store.count(subtract, { maxScan, now, timeslice, ...excludeKinds })).count;
      const hiddenReadable = readableRestricted(subtract, restrictedKinds, requester.authed);
      if (hiddenReadable.length > 0)
        total -= (await this.store.count(hiddenReadable, { maxScan, now, timeslice })).count;
      total = Math.max(0, total);
    }
    return { count: Math.min(total, max), capped: visible.approximate || total >= max };
  }

  /**
   * One filter through store.query(). The store always applies a limit, so a remote store's
   * stream ends by itself (a stream reset per REQ looks like an HTTP/2 rapid-reset attack to
   * servers). When results are checked one by one (restricted kinds) and some were hidden or
   * already sent, further pages older than the last result make up for them; a page that brings
   * no id not seen before ends it (more than `limit` events at one created_at). False when the
   * receiver went away.
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
    hiddenAuthors: ReadonlySet<string> | undefined,
  ): Promise<boolean> {
    const { restrictedKinds } = this.policy;
    const hidden = new Set<string>();
    let count = 0;
    let page: NormalizedFilter = { ...filter, limit };
    for (;;) {
      let got = 0;
      let fresh = 0;
      let last: StoredEvent | undefined;
      for await (const stored of this.store.query(page, { signal, now, wrap: sink.wrap, timeslice: slice })) {
        if (signal.aborted) return false;
        if (slice.expired()) await slice.pause();
        got++;
        last = stored;
        const id = stored.id;
        if (sent.has(id) || hidden.has(id)) continue;
        fresh++;
        if (
          checkEach &&
          ((restrictedKinds.has(stored.kind) && !isVisibleTo(stored.event, requester.authed)) ||
            hiddenAuthors?.has(stored.event.pubkey))
        ) {
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
      if (!checkEach || got < (page.limit ?? 0) || fresh === 0 || last === undefined) return true;
      page = { ...filter, until: last.event.created_at, limit };
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
      const data = chunk.data;
      let start = 0;
      for (let i = 0; i < chunk.ends.length; i++) {
        const end = chunk.ends[i]!;
        const id = chunk.ids.slice(i * 64, i * 64 + 64);
        if (!sent.has(id)) {
          sent.add(id);
          if (!sink.sendFrame(data.subarray(start, end))) return false;
        }
        start = end;
      }
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
 * The restricted-kind part of `filters` that `authed` may read: each filter narrowed to the
 * restricted kinds it can match and to events authored by, or p-tagging, an authed pubkey.
 */
function readableRestricted(
  filters: readonly NormalizedFilter[],
  restricted: ReadonlySet<number>,
  authed: ReadonlySet<string>,
): NormalizedFilter[] {
  if (authed.size === 0 || restricted.size === 0) return [];
  const out: NormalizedFilter[] = [];
  for (const f of filters) {
    if (!mayReturnRestricted(f, restricted)) continue;
    const kinds = f.kinds ? f.kinds.filter((k) => restricted.has(k)) : [...restricted];
    const authors = f.authors ? f.authors.filter((a) => authed.has(a)) : [...authed];
    if (authors.length > 0) out.push({ ...f, kinds, authors });
    const pTags = f.tags?.get('p');
    const recipients = pTags ? pTags.filter((p) => authed.has(p)) : [...authed];
    if (recipients.length > 0) {
      const tags = new Map(f.tags ?? []);
      tags.set('p', recipients);
      out.push({ ...f, kinds, tags });
    }
  }
  return out;
}
