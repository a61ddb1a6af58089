/**
 * GrpcEventStore's change feed (watch, broadcast) over SubscribeEvents.
 *
 * watch() subscribes with the store's origin, which is also sent with every save, so a relay
 * never gets its own events back (only serial markers for them). The stream is opened with the
 * first listener and cancelled with the last. When it is lost (orly-db restarted, or cut us off
 * as a slow reader) it re-subscribes with exponential backoff (100 ms doubling, capped at 2 s),
 * and the resubscription first replays what was stored meanwhile (EventsSince from the last
 * serial seen, at most WATCH_REPLAY_MAX events, our own skipped), buffering the new live stream
 * until the replay is done: listeners miss nothing across an outage, and get nothing twice (live
 * events are checked against the serials the last replay delivered, not against the highest
 * serial: an orly-db on PostgreSQL sends serials in commit order, which is not serial order; there
 * an event committed during the outage with a serial below the last one seen is not replayed).
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Empty, EventBatch, StoredEvent as StoredEventMessage } from '../../gen/orlydb/v1/db.js';
import { type NostrEvent, serializeEvent } from '../../protocol/event.js';
import type { ChangeFeed, StoredEvent, SyncSource } from '../event-store.js';
import { describeStatus, toStoredEvent } from './codec.js';
import type { DatabaseConnection } from './connection.js';

const WATCH_BACKOFF_INITIAL_MS = 100;
const WATCH_BACKOFF_MAX_MS = 2000;
/** Events replayed to listeners after a watch outage, at most (the rest is logged as missed). */
const WATCH_REPLAY_MAX = 100_000;
/** Own saves remembered until their marker arrives, at most. */
const OWN_UNSEEN_MAX = 100_000;

export class GrpcChangeFeed implements ChangeFeed {
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
  /** Serials the last replay delivered (or skipped as our own): live copies of them are dropped. */
  private replayed = new Set<number>();

  constructor(
    private readonly connection: DatabaseConnection,
    private readonly origin: string,
    /** Where the replay after an outage and the starting serial are read. */
    private readonly source: Pick<SyncSource, 'eventsSince' | 'lastSerial'>,
  ) {}

  watch(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    this.openWatch();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopWatch();
    };
  }

  async broadcast(event: NostrEvent): Promise<void> {
    const client = this.connection.client;
    await this.connection.unary<Empty>('broadcast', (md, opts, cb) =>
      client.broadcast({ eventJson: serializeEvent(event), origin: this.origin }, md, opts, cb),
    );
  }

  /** Remembers an own save until its marker arrives (only while watching). */
  noteOwnSave(serial: number): void {
    if (this.listeners.size === 0 || serial <= (this.feedSerial ?? 0)) return;
    if (this.ownUnseen.size >= OWN_UNSEEN_MAX) this.ownUnseen.clear();
    this.ownUnseen.add(serial);
  }

  /** Drops every listener and ends the subscription. */
  close(): void {
    this.listeners.clear();
    this.stopWatch();
  }

  private openWatch(resume = false): void {
    const connection = this.connection;
    if (connection.closed || this.listeners.size === 0 || this.watchCall !== undefined || this.watchTimer)
      return;
    const call = connection.client.subscribeEvents(
      { origin: this.origin, ownSerials: true },
      connection.callMetadata(),
    );
    this.watchCall = call;
    call.on('metadata', () => {
      this.watchBackoff = WATCH_BACKOFF_INITIAL_MS;
      connection.markReachable();
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
      if (connection.closed || this.listeners.size === 0) return;
      const delay = this.watchBackoff;
      this.watchBackoff = Math.min(this.watchBackoff * 2, WATCH_BACKOFF_MAX_MS);
      connection.logger?.warn({ err: detail, retryMs: delay }, 'orly-db watch stream lost; resubscribing');
      this.watchTimer = setTimeout(() => {
        this.watchTimer = undefined;
        this.openWatch(true);
      }, delay);
      this.watchTimer.unref();
    };
    call.on('error', (error: unknown) => {
      connection.noteError(error);
      retry(describeStatus(error));
    });
    call.on('end', () => retry('watch stream ended by the server'));
  }

  /** The starting point of a fresh watch: the store's last serial, unless events came first. */
  private async initFeedSerial(): Promise<void> {
    try {
      const last = await this.source.lastSerial();
      if (this.feedSerial === undefined) this.feedSerial = last;
    } catch {
      // Unknown for now: the first event or marker sets it.
    }
  }

  /** Events and own-save markers from the feed; those the last replay delivered are dropped. */
  private deliverFeed(messages: readonly StoredEventMessage[]): void {
    for (const message of messages) {
      if (message.serial > 0) {
        if (this.replayed.has(message.serial)) continue;
        this.feedSerial = Math.max(this.feedSerial ?? 0, message.serial);
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
    const logger = this.connection.logger;
    this.replayBuffer = [];
    this.replayed = new Set();
    let replayed = 0;
    try {
      for await (const stored of this.source.eventsSince(from, WATCH_REPLAY_MAX + 1)) {
        if (this.watchCall !== call) return;
        if (++replayed > WATCH_REPLAY_MAX) {
          logger?.warn(
            { from, replayed: WATCH_REPLAY_MAX },
            'orly-db watch outage: more events than the replay limit; live subscribers miss the rest',
          );
          break;
        }
        this.feedSerial = Math.max(this.feedSerial ?? 0, stored.serial);
        this.replayed.add(stored.serial);
        if (this.ownUnseen.delete(stored.serial)) continue;
        this.notify(stored);
      }
    } catch (error) {
      logger?.warn({ err: describeStatus(error), from }, 'orly-db watch replay failed; live events resume');
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
      logger?.info({ from, replayed }, 'orly-db watch resumed; replayed the events stored meanwhile');
  }

  private notify(stored: StoredEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch (error) {
        this.connection.logger?.error({ err: (error as Error).message }, 'watch listener failed');
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
}
