/**
 * GrpcEventStore: the EventStore of a relay in split mode, a client of the orly-db service.
 *
 * Saves go over ONE long-lived SaveEvents stream (opened lazily, re-opened after a failure),
 * many in flight, matched to answers by request id. A save resolves stored=true only with the
 * server's durable answer: when the stream fails, every save pending on it resolves
 * {stored:false, reason:"error: database unavailable (...)"}, and so does a save unanswered
 * after `saveTimeoutMs` (the event may still have been stored; a retry then reports a duplicate).
 *
 * Every call fails fast while orly-db is down (waitForReady false: an error, not a hang); unary
 * calls also carry a deadline. The channel reconnects by itself (backoff capped at 2 s), the save
 * stream is re-opened by the next save, and the watch stream re-subscribes with exponential
 * backoff (100 ms doubling, capped at 2 s), so the client recovers without being recreated.
 * isOpen() is the last known reachability: channel READY, or any successful answer, makes it
 * true; TRANSIENT_FAILURE or an UNAVAILABLE answer makes it false.
 *
 * query()/eventsSince() are async iterables over server streams with backpressure (the stream
 * is paused while the consumer is busy); breaking out of the loop or aborting the signal cancels
 * the call. watch() subscribes with this instance's random origin, which is also sent with every
 * save, so a relay never gets its own events back (only serial markers for them). When the watch
 * stream is lost (orly-db restarted, or cut us off as a slow reader), the resubscription first
 * replays what was stored meanwhile (EventsSince from the last serial seen, at most
 * WATCH_REPLAY_MAX events, our own skipped), buffering the new live stream until the replay is
 * done: listeners miss nothing across an outage, and get nothing twice.
 */

import { randomBytes } from 'node:crypto';
import {
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  connectivityState as ConnectivityState,
  type Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { OrlyError, Reasons } from '../../errors.js';
import {
  type CheckForDeletedResponse,
  type CountEventsResponse,
  DatabaseServiceClient,
  type DeleteEventResponse,
  type Empty,
  type EventBatch,
  type GetEventResponse,
  type GetLastSerialResponse,
  type ImportResponse,
  type NegentropyItemsResponse,
  type PurgeExpiredResponse,
  type ReadyResponse,
  type SaveEventBatch,
  type SaveEventRequest,
  type SaveEventResultBatch,
  type StatsResponse,
  type StoredEvent as StoredEventMessage,
} from '../../gen/orlydb/v1/db.js';
import { callMetadata, channelCredentials, channelOptions, type GrpcSecurity } from '../../grpc/security.js';
import type { Logger } from '../../logger.js';
import { type NostrEvent, serializeEvent } from '../../protocol/event.js';
import type { NormalizedFilter } from '../../protocol/filter.js';
import type {
  EventStore,
  NegentropyItems,
  QueryOptions,
  SaveResult,
  StoredEvent,
  StoreStats,
} from '../event-store.js';
import {
  decodeNegentropyItems,
  describeStatus,
  filterJson,
  grpcStatusOf,
  responseToSaveResult,
  toStoredEvent,
} from './codec.js';

export interface GrpcEventStoreOptions {
  /** TLS / mutual TLS / token (default: plaintext, no token). */
  readonly security?: GrpcSecurity;
  /** This relay's origin id (default: random per instance). */
  readonly origin?: string;
  readonly logger?: Logger;
  /** Deadline of unary calls (default 10 s; count, negentropy and purge get 10x). */
  readonly deadlineMs?: number;
  /** A save unanswered for this long resolves stored=false (default 30 s). */
  readonly saveTimeoutMs?: number;
  /**
   * connect() waits up to this long for the server to answer Ready (default 10 s; 0 = do not
   * wait). Transport failures are retried until then; other refusals (a wrong token) fail at once.
   */
  readonly connectTimeoutMs?: number;
}

/** An error from a call to orly-db; `status` is the gRPC status code. */
export class DatabaseCallError extends OrlyError {
  readonly code: string = 'ORLY_DATABASE_CALL';
  override readonly name = 'DatabaseCallError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface PendingSave {
  readonly resolve: (result: SaveResult) => void;
  readonly startedAt: number;
}

interface SaveStream {
  readonly call: ClientDuplexStream<SaveEventBatch, SaveEventResultBatch>;
  readonly pending: Map<number, PendingSave>;
  /** Saves of the current tick, sent together as one SaveEventBatch. */
  outgoing: SaveEventRequest[];
  done: boolean;
}

const WATCH_BACKOFF_INITIAL_MS = 100;
const WATCH_BACKOFF_MAX_MS = 2000;
/** Events replayed to listeners after a watch outage, at most (the rest is logged as missed). */
const WATCH_REPLAY_MAX = 100_000;
/** Own saves remembered until their marker arrives, at most. */
const OWN_UNSEEN_MAX = 100_000;
/** Server stream batches buffered ahead of the consumer before the stream is paused. */
const READ_AHEAD_BATCHES = 4;
/** GetSerials / NegentropyItems take uint32 counts. */
const UINT32_MAX = 0xffff_ffff;

function unavailable(detail: string): SaveResult {
  return { stored: false, reason: Reasons.databaseUnavailable(detail) };
}

export class GrpcEventStore implements EventStore {
  readonly origin: string;
  private readonly client: DatabaseServiceClient;
  private readonly metadata: Metadata;
  private readonly deadlineMs: number;
  private readonly saveTimeoutMs: number;
  private readonly logger: Logger | undefined;
  private saveStream: SaveStream | undefined;
  private nextRequestId = 0;
  private readonly inFlight = new Set<Promise<SaveResult>>();
  private timeoutTimer: NodeJS.Timeout | undefined;
  private reachable = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private watchCall: ClientReadableStream<EventBatch> | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private watchBackoff = WATCH_BACKOFF_INITIAL_MS;
  /** The highest serial the watch has seen (events, own markers, replay); undefined until known. */
  private feedSerial: number | undefined;
  /** Serials of our own saves whose marker has not arrived yet (skipped by a replay). */
  private readonly ownUnseen = new Set<number>();
  /** Live events held back while a replay runs. */
  private replayBuffer: StoredEventMessage[] | undefined;

  private constructor(
    readonly address: string,
    options: GrpcEventStoreOptions,
  ) {
    const security = options.security ?? {};
    this.origin = options.origin ?? randomBytes(12).toString('hex');
    this.logger = options.logger;
    this.deadlineMs = options.deadlineMs ?? 10_000;
    this.saveTimeoutMs = options.saveTimeoutMs ?? 30_000;
    this.metadata = callMetadata(security);
    this.metadata.setOptions({ waitForReady: false });
    this.client = new DatabaseServiceClient(address, channelCredentials(security), {
      ...channelOptions(security),
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2000,
    });
    this.monitorConnectivity();
  }

  /**
   * Creates the client. Unless `connectTimeoutMs` is 0, waits for the server to answer Ready, so
   * that a wrong address, certificate or token fails here, with its gRPC status code.
   */
  static async connect(address: string, options: GrpcEventStoreOptions = {}): Promise<GrpcEventStore> {
    const store = new GrpcEventStore(address, options);
    const wait = options.connectTimeoutMs ?? 10_000;
    if (wait <= 0) return store;
    const deadline = Date.now() + wait;
    let last = 'no answer';
    for (;;) {
      const remaining = deadline - Date.now();
      try {
        if (await store.ready(Math.max(1, remaining))) return store;
        last = 'its store is not open';
      } catch (error) {
        const code = (error as DatabaseCallError).status;
        if (code !== status.UNAVAILABLE && code !== status.DEADLINE_EXCEEDED) {
          await store.close();
          throw error; // wrong token, wrong service...: retrying will not help
        }
        last = describeStatus(error);
      }
      if (Date.now() + 100 >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await store.close();
    throw new DatabaseCallError(status.UNAVAILABLE, `orly-db at ${address} is not reachable: ${last}`);
  }

  // ---------------------------------------------------------------- saves

  save(event: NostrEvent, raw?: string): Promise<SaveResult> {
    if (this.closed) return Promise.resolve(unavailable('client closed'));
    const stream = this.openSaveStream();
    const requestId = ++this.nextRequestId;
    const promise = new Promise<SaveResult>((resolve) => {
      stream.pending.set(requestId, { resolve, startedAt: Date.now() });
    });
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
    this.armSaveTimeouts();
    if (stream.outgoing.length === 0) process.nextTick(() => this.flushSaves(stream));
    stream.outgoing.push({ eventJson: raw ?? serializeEvent(event), requestId, origin: this.origin });
    return promise;
  }

  /** Sends the saves queued during this tick as one message. */
  private flushSaves(stream: SaveStream): void {
    const requests = stream.outgoing;
    stream.outgoing = [];
    if (!stream.done && requests.length > 0) stream.call.write({ requests });
  }

  private openSaveStream(): SaveStream {
    const current = this.saveStream;
    if (current !== undefined && !current.done) return current;
    const call = this.client.saveEvents(this.metadata.clone());
    const stream: SaveStream = { call, pending: new Map(), outgoing: [], done: false };
    const fail = (detail: string): void => {
      if (stream.done) return;
      stream.done = true;
      if (this.saveStream === stream) this.saveStream = undefined;
      const answer = unavailable(detail);
      for (const pending of stream.pending.values()) pending.resolve(answer);
      stream.pending.clear();
    };
    call.on('data', (batch: SaveEventResultBatch) => {
      for (const response of batch.responses) {
        const pending = stream.pending.get(response.requestId);
        if (pending === undefined) continue;
        stream.pending.delete(response.requestId);
        this.reachable = true;
        const result = responseToSaveResult(response);
        if (result.stored && !result.duplicate) this.noteOwnSave(result.serial);
        pending.resolve(result);
      }
    });
    call.on('error', (error: ServiceError) => {
      this.noteError(error);
      if (stream.pending.size > 0) {
        this.logger?.warn(
          { err: describeStatus(error), pending: stream.pending.size },
          'orly-db save stream failed',
        );
      }
      fail(describeStatus(error));
    });
    call.on('end', () => fail('save stream ended by the server'));
    call.on('close', () => fail('save stream closed'));
    this.saveStream = stream;
    return stream;
  }

  /** One timer checks the oldest pending saves of the current stream once a second. */
  private armSaveTimeouts(): void {
    if (this.timeoutTimer !== undefined) return;
    this.timeoutTimer = setInterval(() => {
      const stream = this.saveStream;
      const now = Date.now();
      if (stream !== undefined) {
        for (const [id, pending] of stream.pending) {
          if (now - pending.startedAt < this.saveTimeoutMs) break; // insertion order = age order
          stream.pending.delete(id);
          pending.resolve(unavailable(`no answer within ${this.saveTimeoutMs} ms`));
        }
      }
      if (stream === undefined || stream.pending.size === 0) {
        clearInterval(this.timeoutTimer);
        this.timeoutTimer = undefined;
      }
    }, 1000);
    this.timeoutTimer.unref();
  }

  // ---------------------------------------------------------------- reads

  async *query(
    filter: NormalizedFilter,
    options?: QueryOptions,
  ): AsyncGenerator<StoredEvent, void, undefined> {
    this.assertOpen();
    if (filter.limit === 0 || options?.signal?.aborted) return;
    const call = this.client.queryEvents(
      { filterJson: filterJson(filter), now: options?.now ?? 0 },
      this.metadata.clone(),
    );
    yield* this.readEvents(call, 'query', options?.signal);
  }

  async *eventsSince(after: number, limit: number): AsyncGenerator<StoredEvent, void, undefined> {
    this.assertOpen();
    if (!(limit > 0)) return;
    const call = this.client.getSerials(
      { after: Math.max(0, Math.floor(after)), limit: Math.min(UINT32_MAX, Math.floor(limit)) },
      this.metadata.clone(),
    );
    yield* this.readEvents(call, 'eventsSince');
  }

  /** Yields the events of a server stream; cancels the call when the consumer stops early. */
  private async *readEvents(
    call: ClientReadableStream<EventBatch>,
    method: string,
    signal?: AbortSignal,
  ): AsyncGenerator<StoredEvent, void, undefined> {
    const queue: EventBatch[] = [];
    let ended = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    let paused = false;
    const notify = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    call.on('data', (batch: EventBatch) => {
      queue.push(batch);
      if (queue.length >= READ_AHEAD_BATCHES && !paused) {
        paused = true;
        call.pause();
      }
      notify();
    });
    call.on('end', () => {
      ended = true;
      notify();
    });
    call.on('error', (error: unknown) => {
      failure ??= error;
      ended = true;
      notify();
    });
    let finished = false;
    const onAbort = (): void => notify();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal?.aborted) return;
        const batch = queue.shift();
        if (batch === undefined) {
          if (ended) {
            if (failure !== undefined) {
              this.noteError(failure);
              throw this.callError(method, failure);
            }
            finished = true;
            this.reachable = true;
            return;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        if (paused && queue.length < READ_AHEAD_BATCHES / 2) {
          paused = false;
          call.resume();
        }
        for (const message of batch.events) {
          yield toStoredEvent(message);
          if (signal?.aborted) return;
        }
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!finished && !ended) call.cancel();
    }
  }

  async count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<number> {
    const response = await this.unary<CountEventsResponse>(
      'count',
      (md, opts, cb) =>
        this.client.countEvents(
          { filterJson: filters.map(filterJson), now: options?.now ?? 0, max: options?.max ?? 0 },
          md,
          opts,
          cb,
        ),
      this.deadlineMs * 10,
    );
    return response.count;
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    const response = await this.unary<GetEventResponse>('getById', (md, opts, cb) =>
      this.client.getEvent({ id }, md, opts, cb),
    );
    return response.found && response.event !== undefined ? toStoredEvent(response.event) : undefined;
  }

  async deleteByIds(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const response = await this.unary<DeleteEventResponse>('deleteByIds', (md, opts, cb) =>
      this.client.deleteEvent({ ids: [...ids] }, md, opts, cb),
    );
    return response.deleted;
  }

  async lastSerial(): Promise<number> {
    const response = await this.unary<GetLastSerialResponse>('lastSerial', (md, opts, cb) =>
      this.client.getLastSerial({}, md, opts, cb),
    );
    return response.serial;
  }

  async negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined> {
    const response = await this.unary<NegentropyItemsResponse>(
      'negentropyItems',
      (md, opts, cb) =>
        this.client.negentropyItems(
          { filterJson: filterJson(filter), max: Math.max(0, Math.min(UINT32_MAX, Math.floor(max))) },
          md,
          opts,
          cb,
        ),
      this.deadlineMs * 10,
    );
    if (response.tooMany) return undefined;
    return decodeNegentropyItems(response.count, response.timestamps, response.ids);
  }

  async purgeExpired(now: number): Promise<number> {
    const response = await this.unary<PurgeExpiredResponse>(
      'purgeExpired',
      (md, opts, cb) => this.client.purgeExpired({ now }, md, opts, cb),
      this.deadlineMs * 10,
    );
    return response.purged;
  }

  async stats(): Promise<StoreStats> {
    const response = await this.unary<StatsResponse>('stats', (md, opts, cb) =>
      this.client.stats({}, md, opts, cb),
    );
    return { events: response.events, bytes: response.bytes, lastSerial: response.lastSerial };
  }

  /** Ready: the server is up and its store is open. */
  async ready(deadlineMs = this.deadlineMs): Promise<boolean> {
    const response = await this.unary<ReadyResponse>(
      'ready',
      (md, opts, cb) => this.client.ready({}, md, opts, cb),
      deadlineMs,
    );
    return response.ready;
  }

  /** Whether `pubkey` deleted `id` with a NIP-09 `e` request. */
  async checkForDeleted(id: string, pubkey: string): Promise<boolean> {
    const response = await this.unary<CheckForDeletedResponse>('checkForDeleted', (md, opts, cb) =>
      this.client.checkForDeleted({ id, pubkey }, md, opts, cb),
    );
    return response.deleted;
  }

  // ---------------------------------------------------------------- import / export

  /** Streams JSONL into the server's Import (signatures verified there unless `verify` is false). */
  importJsonl(
    input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
    options: { verify: boolean },
  ): Promise<ImportResponse> {
    this.assertOpen();
    return new Promise<ImportResponse>((resolve, reject) => {
      const call = this.client.import(this.metadata.clone(), (error, response) => {
        if (error) reject(this.callError('import', error));
        else resolve(response);
      });
      void (async () => {
        let first = true;
        try {
          for await (const chunk of input) {
            const data = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
            const ok = call.write({ data, noVerify: first && !options.verify });
            first = false;
            if (!ok) await new Promise((r) => call.once('drain', r));
          }
          if (first) call.write({ data: Buffer.alloc(0), noVerify: !options.verify });
          call.end();
        } catch (error) {
          call.cancel();
          reject(error);
        }
      })();
    });
  }

  /** Writes the server's Export (JSONL, oldest first) to `out`; resolves with the bytes written. */
  exportJsonl(filter: NormalizedFilter | undefined, out: NodeJS.WritableStream): Promise<number> {
    this.assertOpen();
    const call = this.client.export(
      { filterJson: filter === undefined ? '' : filterJson(filter) },
      this.metadata.clone(),
    );
    return new Promise<number>((resolve, reject) => {
      let bytes = 0;
      call.on('data', (chunk: { data: Buffer }) => {
        bytes += chunk.data.length;
        if (!out.write(chunk.data)) {
          call.pause();
          out.once('drain', () => call.resume());
        }
      });
      call.on('end', () => resolve(bytes));
      call.on('error', (error) => reject(this.callError('export', error)));
    });
  }

  // ---------------------------------------------------------------- watch / broadcast

  watch(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    this.openWatch();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopWatch();
    };
  }

  async broadcast(event: NostrEvent): Promise<void> {
    await this.unary<Empty>('broadcast', (md, opts, cb) =>
      this.client.broadcast({ eventJson: serializeEvent(event), origin: this.origin }, md, opts, cb),
    );
  }

  private openWatch(resume = false): void {
    if (this.closed || this.listeners.size === 0 || this.watchCall !== undefined || this.watchTimer) return;
    const call = this.client.subscribeEvents(
      { origin: this.origin, ownSerials: true },
      this.metadata.clone(),
    );
    this.watchCall = call;
    call.on('metadata', () => {
      this.watchBackoff = WATCH_BACKOFF_INITIAL_MS;
      this.reachable = true;
      if (this.feedSerial === undefined) void this.initFeedSerial();
      else if (resume) void this.replay(call, this.feedSerial);
    });
    call.on('data', (batch: EventBatch) => {
      if (this.watchCall !== call) return;
      if (this.replayBuffer !== undefined) this.replayBuffer.push(...batch.events);
      else this.deliverFeed(batch.events);
    });
    const retry = (detail: string): void => {
      if (this.watchCall !== call) return;
      this.watchCall = undefined;
      this.replayBuffer = undefined;
      if (this.closed || this.listeners.size === 0) return;
      const delay = this.watchBackoff;
      this.watchBackoff = Math.min(this.watchBackoff * 2, WATCH_BACKOFF_MAX_MS);
      this.logger?.warn({ err: detail, retryMs: delay }, 'orly-db watch stream lost; resubscribing');
      this.watchTimer = setTimeout(() => {
        this.watchTimer = undefined;
        this.openWatch(true);
      }, delay);
      this.watchTimer.unref();
    };
    call.on('error', (error: unknown) => {
      this.noteError(error);
      retry(describeStatus(error));
    });
    call.on('end', () => retry('watch stream ended by the server'));
  }

  /** The starting point of a fresh watch: the store's last serial, unless events came first. */
  private async initFeedSerial(): Promise<void> {
    try {
      const last = await this.lastSerial();
      if (this.feedSerial === undefined) this.feedSerial = last;
    } catch {
      // Unknown for now: the first event or marker sets it.
    }
  }

  /** Events and own-save markers from the feed; anything at or below feedSerial was replayed already. */
  private deliverFeed(messages: readonly StoredEventMessage[]): void {
    for (const message of messages) {
      if (message.serial > 0) {
        if (this.feedSerial !== undefined && message.serial <= this.feedSerial) continue;
        this.feedSerial = message.serial;
        if (message.json.length === 0) {
          this.ownUnseen.delete(message.serial);
          continue;
        }
      }
      this.notify(toStoredEvent(message));
    }
  }

  /** After a resubscription: what was stored since `from`, then the live events held back meanwhile. */
  private async replay(call: ClientReadableStream<EventBatch>, from: number): Promise<void> {
    this.replayBuffer = [];
    let replayed = 0;
    try {
      for await (const stored of this.eventsSince(from, WATCH_REPLAY_MAX + 1)) {
        if (this.watchCall !== call) return;
        if (++replayed > WATCH_REPLAY_MAX) {
          this.logger?.warn(
            { from, replayed: WATCH_REPLAY_MAX },
            'orly-db watch outage: more events than the replay limit; live subscribers miss the rest',
          );
          break;
        }
        this.feedSerial = Math.max(this.feedSerial ?? 0, stored.serial);
        if (this.ownUnseen.delete(stored.serial)) continue;
        this.notify(stored);
      }
    } catch (error) {
      this.logger?.warn(
        { err: describeStatus(error), from },
        'orly-db watch replay failed; live events resume',
      );
    } finally {
      if (this.watchCall === call) {
        for (const serial of this.ownUnseen)
          if (serial <= (this.feedSerial ?? 0)) this.ownUnseen.delete(serial);
        const held = this.replayBuffer ?? [];
        this.replayBuffer = undefined;
        this.deliverFeed(held);
      }
    }
    if (replayed > 0)
      this.logger?.info({ from, replayed }, 'orly-db watch resumed; replayed the events stored meanwhile');
  }

  /** Remembers an own save until its marker arrives (only while watching). */
  private noteOwnSave(serial: number): void {
    if (this.listeners.size === 0 || serial <= (this.feedSerial ?? 0)) return;
    if (this.ownUnseen.size >= OWN_UNSEEN_MAX) this.ownUnseen.clear();
    this.ownUnseen.add(serial);
  }

  private notify(stored: StoredEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch (error) {
        this.logger?.error({ err: (error as Error).message }, 'watch listener failed');
      }
    }
  }

  private stopWatch(): void {
    if (this.watchTimer !== undefined) clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    const call = this.watchCall;
    this.watchCall = undefined;
    call?.cancel();
  }

  // ---------------------------------------------------------------- lifecycle

  isOpen(): boolean {
    return !this.closed && this.reachable;
  }

  /** Lets pending saves get their answers (bounded by saveTimeoutMs), then closes streams and channel. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      if (this.timeoutTimer !== undefined) clearInterval(this.timeoutTimer);
      this.timeoutTimer = undefined;
      this.listeners.clear();
      this.stopWatch();
      const stream = this.saveStream;
      this.saveStream = undefined;
      if (stream !== undefined && !stream.done) {
        stream.done = true;
        stream.call.end();
      }
      this.client.close();
    })();
    return this.closing;
  }

  // ---------------------------------------------------------------- internals

  /** Tracks channel connectivity for isOpen(), and reconnects an idle channel eagerly. */
  private monitorConnectivity(): void {
    const channel = this.client.getChannel();
    const step = (): void => {
      if (this.closed) return;
      const state = channel.getConnectivityState(true);
      if (state === ConnectivityState.READY) this.reachable = true;
      else if (state === ConnectivityState.TRANSIENT_FAILURE || state === ConnectivityState.SHUTDOWN)
        this.reachable = false;
      if (state === ConnectivityState.SHUTDOWN) return;
      try {
        channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, step);
      } catch {
        // the channel was closed
      }
    };
    step();
  }

  private noteError(error: unknown): void {
    if (grpcStatusOf(error) === status.UNAVAILABLE) this.reachable = false;
  }

  private callError(method: string, error: unknown): DatabaseCallError {
    const code = grpcStatusOf(error) ?? status.UNKNOWN;
    const detail = describeStatus(error);
    const message =
      code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED
        ? `database unavailable (${method}: ${detail})`
        : `database error (${method}: ${detail})`;
    return new DatabaseCallError(code, message);
  }

  private unary<Res>(
    method: string,
    invoke: (
      metadata: Metadata,
      options: { deadline: number },
      callback: (error: ServiceError | null, response: Res) => void,
    ) => ClientUnaryCall,
    deadlineMs = this.deadlineMs,
  ): Promise<Res> {
    if (this.closed) {
      return Promise.reject(
        new DatabaseCallError(status.UNAVAILABLE, `database unavailable (${method}: client closed)`),
      );
    }
    return new Promise<Res>((resolve, reject) => {
      invoke(this.metadata.clone(), { deadline: Date.now() + deadlineMs }, (error, response) => {
        if (error) {
          this.noteError(error);
          reject(this.callError(method, error));
        } else {
          this.reachable = true;
          resolve(response);
        }
      });
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new DatabaseCallError(status.UNAVAILABLE, 'database unavailable (client closed)');
  }
}
