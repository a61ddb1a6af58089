/**
 * The PostgreSQL store's change feed (watch, broadcast): relays sharing one database deliver each
 * other's events to their live subscriptions, over LISTEN/NOTIFY on the channel `orly_events`.
 *
 * Payloads name the sending store instance (`origin`, a random number per store; its own are
 * ignored): `s:<origin>:<serial>,<serial>…` for stored events, `e:<origin>:<event JSON>` for an
 * ephemeral one, `b:<origin>:<row id>` for an ephemeral one too large for a payload (kept a
 * minute in `broadcasts`).
 *
 * Stored events are announced after their commit, batched (one NOTIFY in flight per store, the
 * serials saved meanwhile sent together): a NOTIFY inside each save's transaction would serialize
 * every commit of the database on PostgreSQL's notify-queue lock. The receiver fetches the
 * announced serials (`origin <> own`). A watcher also keeps a cursor: every serial at or below it
 * was delivered or is its own. On LISTEN (each reconnection included) and every POLL_MS it reads
 * what other stores committed after the cursor, up to the horizon of read-path.ts (events below it
 * are final), delivers what it has not delivered yet and moves the cursor to the horizon. So an
 * announcement lost with a connection, or never sent because its writer failed after the commit,
 * is made up for: listeners miss nothing across an outage (at most REPLAY_MAX events, then it
 * skips ahead with a warning) and get nothing twice. A fresh watch starts at the horizon.
 */
import type { Logger } from '../../logger.js';
import { checkEventShape, type NostrEvent, nip01Event, serializeEvent } from '../../protocol/event.js';
import { isEphemeral } from '../../protocol/kinds.js';
import type { ChangeFeed, StoredEvent } from '../event-store.js';
import { describeError, type Sql } from './connection.js';
import { intArray } from './keys.js';
import { type EventRow, toStored } from './read-path.js';

const CHANNEL = 'orly_events';
/** NOTIFY payloads must stay below 8000 bytes. */
const PAYLOAD_MAX = 7900;
const POLL_MS = 1000;
const CATCH_UP_BATCH = 1000;
/** Events replayed after an outage, at most (then the watcher skips ahead). */
const REPLAY_MAX = 100_000;
/** Serials of one announcement looked at, at most. */
const ANNOUNCED_MAX = 2000;
/** Serials above the cursor remembered as delivered, at most. */
const DELIVERED_MAX = 200_000;

const HORIZON = 'SELECT orly_horizon()::float8 AS h';
const CATCH_UP =
  'SELECT h.h::float8 AS horizon, e.serial::float8 AS serial, e.kind, e.raw FROM (SELECT orly_horizon() AS h) h ' +
  'LEFT JOIN LATERAL (SELECT serial, kind, raw FROM events WHERE serial > $1::bigint AND serial < h.h ' +
  'AND origin <> $2::bigint ORDER BY serial LIMIT $3::bigint) e ON true';
const BY_SERIALS =
  'SELECT serial::float8 AS serial, kind, raw FROM events WHERE serial = ANY ($1::bigint[]) ' +
  'AND origin <> $2::bigint ORDER BY serial';
const BROADCAST_LARGE =
  "WITH old AS (DELETE FROM broadcasts WHERE created < now() - interval '1 minute'), " +
  'row AS (INSERT INTO broadcasts (origin, raw) VALUES ($2::bigint, $3::text) RETURNING id) ' +
  "SELECT pg_notify($1::text, 'b:' || $2::bigint || ':' || row.id) FROM row";
const BROADCAST_ROW = 'SELECT raw FROM broadcasts WHERE id = $1::bigint';

/** One watch session (first listener to last): callbacks of an ended one are ignored. */
interface Session {
  cursor: number | undefined;
  readonly delivered: Set<number>;
  timer: NodeJS.Timeout | undefined;
  unlisten: (() => Promise<void>) | undefined;
  /** A LISTEN is being set up (or is up). */
  listening: boolean;
  catchingUp: boolean;
  again: boolean;
}

export class PostgresChangeFeed implements ChangeFeed {
  private readonly listeners = new Set<(event: StoredEvent) => void>();
  private session: Session | undefined;
  private readonly announce: number[] = [];
  private announcing: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    /** This store's origin (events.origin of its saves). */
    readonly origin: number,
    private readonly logger?: Logger,
  ) {}

  watch(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.session === undefined) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  async broadcast(event: NostrEvent): Promise<void> {
    const raw = serializeEvent(event);
    const payload = `e:${this.origin}:${raw}`;
    if (Buffer.byteLength(payload, 'utf8') <= PAYLOAD_MAX)
      await this.sql.unsafe('SELECT pg_notify($1::text, $2::text)', [CHANNEL, payload], { prepare: true });
    else await this.sql.unsafe(BROADCAST_LARGE, [CHANNEL, this.origin, raw] as never[], { prepare: true });
  }

  /** Announces an event this store saved (after its commit); batched, never throws. */
  announceSaved(serial: number): void {
    this.announce.push(serial);
    this.announcing ??= this.sendAnnouncements().finally(() => {
      this.announcing = undefined;
    });
  }

  /** Stops watching and waits for the announcements still queued. */
  async close(): Promise<void> {
    this.listeners.clear();
    this.stop();
    await this.announcing;
  }

  private async sendAnnouncements(): Promise<void> {
    while (this.announce.length > 0) {
      let payload = `s:${this.origin}:`;
      let n = 0;
      for (const serial of this.announce) {
        const next = `${n === 0 ? '' : ','}${serial}`;
        if (payload.length + next.length > PAYLOAD_MAX) break;
        payload += next;
        n++;
      }
      this.announce.splice(0, n);
      try {
        await this.sql.unsafe('SELECT pg_notify($1::text, $2::text)', [CHANNEL, payload], { prepare: true });
      } catch (error) {
        // The other relays' watchers read these events on their next catch-up.
        this.logger?.debug({ err: describeError(error) }, 'postgres change feed: announcement failed');
      }
    }
  }

  private start(): void {
    const session: Session = {
      cursor: undefined,
      delivered: new Set(),
      timer: undefined,
      unlisten: undefined,
      listening: false,
      catchingUp: false,
      again: false,
    };
    this.session = session;
    session.timer = setInterval(() => {
      if (!session.listening) this.listen(session);
      this.catchUp(session);
    }, POLL_MS);
    session.timer.unref();
    this.listen(session);
  }

  private stop(): void {
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return;
    clearInterval(session.timer);
    void session.unlisten?.().catch(() => {});
  }

  private listen(session: Session): void {
    session.listening = true;
    this.sql
      .listen(
        CHANNEL,
        (payload) => this.onNotify(session, payload),
        () => this.catchUp(session),
      )
      .then(
        (meta) => {
          if (this.session === session && session.unlisten === undefined)
            session.unlisten = () => meta.unlisten();
          else void meta.unlisten().catch(() => {});
        },
        (error: unknown) => {
          session.listening = false;
          this.logger?.warn({ err: describeError(error) }, 'postgres change feed: LISTEN failed; retrying');
        },
      );
  }

  /** Reads what other stores committed after the cursor, up to the horizon (see the header). */
  private catchUp(session: Session): void {
    if (this.session !== session) return;
    if (session.catchingUp) {
      session.again = true;
      return;
    }
    session.catchingUp = true;
    void this.catchUpLoop(session)
      .catch((error: unknown) =>
        this.logger?.debug({ err: describeError(error) }, 'postgres change feed: catch-up failed; retrying'),
      )
      .finally(() => {
        session.catchingUp = false;
        if (session.again && this.session === session) {
          session.again = false;
          this.catchUp(session);
        }
      });
  }

  private async catchUpLoop(session: Session): Promise<void> {
    if (session.cursor === undefined) {
      const [row] = await this.sql.unsafe<{ h: number }[]>(HORIZON, []);
      session.cursor ??= row!.h - 1;
      return;
    }
    let replayed = 0;
    for (;;) {
      const from = session.cursor!;
      const rows = await this.sql.unsafe<(EventRow & { horizon: number })[]>(
        CATCH_UP,
        [from, this.origin, CATCH_UP_BATCH] as never[],
        { prepare: true },
      );
      if (this.session !== session) return;
      const events = rows.filter((r) => r.serial !== null);
      for (const row of events) this.deliverStored(session, row);
      replayed += events.length;
      const horizon = rows[0]!.horizon;
      if (events.length === CATCH_UP_BATCH && replayed < REPLAY_MAX) {
        session.cursor = Math.max(session.cursor!, events.at(-1)!.serial);
        continue;
      }
      if (events.length === CATCH_UP_BATCH)
        this.logger?.warn(
          { from, replayed },
          'postgres change feed: more events than the replay limit; live subscribers miss the rest',
        );
      session.cursor = Math.max(session.cursor!, horizon - 1);
      for (const serial of session.delivered) if (serial <= session.cursor) session.delivered.delete(serial);
      return;
    }
  }

  private onNotify(session: Session, payload: string): void {
    if (this.session !== session) return;
    const first = payload.indexOf(':');
    const second = payload.indexOf(':', first + 1);
    if (first !== 1 || second < 0 || payload.slice(first + 1, second) === String(this.origin)) return;
    const body = payload.slice(second + 1);
    if (payload[0] === 's') void this.fetchAnnounced(session, body);
    else if (payload[0] === 'e') this.deliverEphemeral(body);
    else if (payload[0] === 'b' && /^\d{1,18}$/.test(body)) void this.fetchBroadcast(body);
  }

  private async fetchAnnounced(session: Session, list: string): Promise<void> {
    const serials: number[] = [];
    for (const item of list.split(',', ANNOUNCED_MAX)) {
      const serial = /^\d{1,15}$/.test(item) ? Number(item) : 0;
      if (serial > (session.cursor ?? 0) && !session.delivered.has(serial)) serials.push(serial);
    }
    if (serials.length === 0) return;
    try {
      const rows = await this.sql.unsafe<EventRow[]>(
        BY_SERIALS,
        [intArray(serials), this.origin] as never[],
        {
          prepare: true,
        },
      );
      if (this.session !== session) return;
      for (const row of rows) this.deliverStored(session, row);
    } catch (error) {
      // The next catch-up delivers them.
      this.logger?.debug({ err: describeError(error) }, 'postgres change feed: fetch failed');
    }
  }

  private deliverStored(session: Session, row: EventRow): void {
    if ((session.cursor !== undefined && row.serial <= session.cursor) || session.delivered.has(row.serial))
      return;
    if (session.delivered.size >= DELIVERED_MAX) {
      // The cursor is not moving (a long transaction holds the horizon back): forget the oldest.
      for (const serial of session.delivered) {
        session.delivered.delete(serial);
        if (session.delivered.size < DELIVERED_MAX / 2) break;
      }
    }
    session.delivered.add(row.serial);
    this.notify(toStored(row));
  }

  private async fetchBroadcast(id: string): Promise<void> {
    try {
      const [row] = await this.sql.unsafe<{ raw: string }[]>(BROADCAST_ROW, [id], { prepare: true });
      if (row !== undefined) this.deliverEphemeral(row.raw);
    } catch (error) {
      this.logger?.debug({ err: describeError(error) }, 'postgres change feed: broadcast fetch failed');
    }
  }

  /** An ephemeral event from another store: delivered with serial 0 if it is a well-formed one. */
  private deliverEphemeral(json: string): void {
    let event: NostrEvent;
    try {
      event = JSON.parse(json) as NostrEvent;
    } catch {
      return;
    }
    if (checkEventShape(event) !== undefined || !isEphemeral(event.kind)) return;
    const clean = nip01Event(event);
    this.notify(toStored({ serial: 0, kind: clean.kind, raw: serializeEvent(clean) }, clean));
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
}
