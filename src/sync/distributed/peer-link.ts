/**
 * One peer of distributed sync, both ways of learning its events:
 *
 * - **Live**: a WebSocket to the peer, NIP-42-authenticated as our identity, with one REQ
 *   `{"limit":0}`: every event the peer stores from then on arrives within a round trip and is
 *   ingested (sync-ingest.ts). Reconnects with a growing delay (1 s to 30 s); every reconnect
 *   asks for a poll, which fills the gap.
 * - **Poll** (the safety net, every ORLY_SYNC_DISTRIBUTED_INTERVAL and after reconnects): the
 *   peer's current serial; the ids of every serial after the last one replicated, in ranges of
 *   up to MAX_RANGE; those not stored here fetched over an authenticated WebSocket in batches
 *   and ingested; progress saved after each range (progress.ts), so a restart resumes there.
 *   Ids the peer does not serve us (restricted kinds it keeps from us, events deleted meanwhile)
 *   are skipped, not retried forever. A peer whose serial went backwards, or whose identity
 *   changed, is a new database: its progress starts over.
 *
 * Never throws: failures are logged, counted and shown in status(). A peer whose identity is
 * ours (NIP-11 `self`) is marked "self" and left alone.
 */
import type { Logger } from '../../logger.js';
import type { ClientStore } from '../../store/event-store.js';
import type { PeerDirectory } from '../identity/peer-directory.js';
import { wsUrlOf } from '../identity/peer-directory.js';
import type { RelayIdentity } from '../identity/relay-identity.js';
import { PeerConnection, ReceiveTimeout } from '../peer.js';
import { authenticateToPeer } from '../peer-auth.js';
import type { PeerStatus } from '../replication.js';
import type { SyncIngest } from '../sync-ingest.js';
import { downloadEvents } from '../transfer.js';
import { distributedFeed, type PeerFeed } from './peer-client.js';
import type { PeerProgress, ProgressStore } from './progress.js';

const TIMEOUT_MS = 30_000;
const LIVE_IDLE_MS = 5 * 60_000;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30_000;
const LIVE_SUB = 'orly-sync-live';
/** Ids checked against the store per query. */
const EXISTS_CHUNK = 500;
/**
 * Ids per REQ when fetching from a peer: within a relay's default max limit (500) and max filter
 * values (1,000). 50 (strfry's size, orly sync's) made a 100,000-event catch-up take 29 s.
 */
const FETCH_BATCH = 500;

export interface PeerLinkDeps {
  readonly identity: RelayIdentity;
  readonly relayUrl: string;
  readonly directory: PeerDirectory;
  readonly progress: ProgressStore;
  readonly ingest: SyncIngest;
  readonly store: Pick<ClientStore, 'query'>;
  readonly logger: Logger;
  /** Called when a reconnected live link wants a poll. */
  readonly requestPoll: () => void;
  /** The regular poll interval: a failed poll is retried sooner (1 s, doubling), never later. */
  readonly intervalMs: number;
  /** How the peer's serials and ids are read (default: distributed sync's endpoints). */
  readonly feed?: (url: string, identity: RelayIdentity) => PeerFeed;
}

export class PeerLink {
  private progress: PeerProgress = { serial: 0, pubkey: '' };
  private pubkey = '';
  private state = 'unknown';
  private peerSerial = 0;
  private lastPoll = 0;
  private errorCount = 0;
  private lastError = '';
  private polling: Promise<void> | undefined;
  private liveConn: PeerConnection | undefined;
  private liveRunning = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Events stored here from this peer, and bytes of frames received from it (closed connections). */
  private replicated = 0;
  private bytesIn = 0;
  private readonly feed: PeerFeed;
  private readonly logger: Logger;

  /**
   * `url`: the peer's canonical http(s) URL (its identity in progress and status). `wsUrl`: where
   * its WebSocket is, when the configuration names it (a cluster membership's `relay` tag);
   * otherwise `url` with the scheme swapped.
   */
  constructor(
    readonly url: string,
    private readonly deps: PeerLinkDeps,
    readonly wsUrl: string | undefined = wsUrlOf(url),
  ) {
    this.feed = (
      deps.feed ?? ((peer, identity) => distributedFeed(peer, identity, deps.relayUrl, TIMEOUT_MS))
    )(url, deps.identity);
    this.logger = deps.logger.child({ peer: url });
  }

  async load(): Promise<void> {
    this.progress = await this.deps.progress.load(this.url);
  }

  get isSelf(): boolean {
    return this.state === 'self';
  }

  /** One catch-up; concurrent calls share the running one. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  startLive(): void {
    if (this.liveRunning || this.stopped) return;
    this.liveRunning = true;
    void this.liveLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    await this.liveConn?.close();
    await this.polling;
  }

  status(): PeerStatus {
    return {
      url: this.url,
      pubkey: this.pubkey,
      lastSerial: this.progress.serial,
      lag: Math.max(0, this.peerSerial - this.progress.serial),
      status: this.state,
      lastPoll: this.lastPoll,
      errorCount: this.errorCount,
      lastError: this.lastError,
      live: this.liveConn !== undefined,
      eventsReplicated: this.replicated,
      bytesReceived: this.bytesIn + (this.liveConn?.bytesDown ?? 0),
    };
  }

  /** Resolves the peer's identity; false when it is us. */
  private async identify(): Promise<boolean> {
    const pubkey = (await this.deps.directory.pubkeyOf(this.url)) ?? '';
    if (pubkey === this.deps.identity.pubkey) {
      if (this.state !== 'self') this.logger.info('this peer is this relay itself: skipped');
      this.state = 'self';
      return false;
    }
    this.pubkey = pubkey;
    return true;
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped || !(await this.identify())) return;
    let conn: PeerConnection | undefined;
    try {
      if (this.pubkey !== '' && this.progress.pubkey !== '' && this.pubkey !== this.progress.pubkey) {
        this.logger.warn(
          { was: this.progress.pubkey, now: this.pubkey },
          'peer identity changed: starting over',
        );
        this.progress = { serial: 0, pubkey: this.pubkey };
      }
      const current = await this.feed.current();
      this.peerSerial = current;
      if (current < this.progress.serial) {
        this.logger.warn(
          { was: this.progress.serial, now: current },
          'peer serial went backwards: starting over',
        );
        this.progress = { serial: 0, pubkey: this.pubkey };
      }
      while (!this.stopped && this.progress.serial < current) {
        const from = this.progress.serial + 1;
        const { ids, end } = await this.feed.ids(from, Math.min(current, from + this.feed.maxRange - 1));
        const missing = await this.missing(ids);
        if (missing.length > 0) {
          conn ??= await this.connect();
          const stats = await downloadEvents({
            peer: conn,
            store: this.deps.ingest.store,
            timeoutMs: TIMEOUT_MS,
            verifier: this.deps.ingest.verifier,
            ids: missing,
            batch: FETCH_BATCH,
            admit: this.deps.ingest.admitter({ url: this.url, pubkey: this.pubkey }),
            log: (line) => this.logger.debug(line),
          });
          this.replicated += stats.downloaded;
          if (stats.downloaded > 0 || stats.rejected > 0 || stats.missing > 0)
            this.logger.info({ from, to: end, ...stats }, 'replicated from peer');
        }
        this.progress = { serial: end, pubkey: this.pubkey };
        await this.deps.progress.save(this.url, this.progress);
      }
      this.state = 'active';
      this.errorCount = 0;
      this.lastError = '';
    } catch (err) {
      this.state = 'error';
      this.errorCount++;
      this.lastError = (err as Error).message;
      this.logger.warn({ err: this.lastError, errors: this.errorCount }, 'distributed sync poll failed');
      this.scheduleRetry();
    } finally {
      this.lastPoll = Math.floor(Date.now() / 1000);
      this.bytesIn += conn?.bytesDown ?? 0;
      await conn?.close();
    }
  }

  /** After a failure: poll again in 1 s, 2 s, 4 s … (at most the regular interval). */
  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    const delay = Math.min(1000 * 2 ** Math.min(this.errorCount - 1, 16), this.deps.intervalMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.poll();
    }, delay);
    this.retryTimer.unref();
  }

  /** The ids not stored here. */
  private async missing(ids: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (let i = 0; i < ids.length; i += EXISTS_CHUNK) {
      const chunk = ids.slice(i, i + EXISTS_CHUNK);
      const have = new Set<string>();
      for await (const stored of this.deps.store.query({ ids: chunk, limit: chunk.length }))
        have.add(stored.id);
      for (const id of chunk) if (!have.has(id)) missing.push(id);
    }
    return missing;
  }

  private async connect(): Promise<PeerConnection> {
    const ws = this.wsUrl;
    if (ws === undefined) throw new Error(`no WebSocket URL for ${this.url}`);
    const conn = await PeerConnection.connect(ws, TIMEOUT_MS);
    try {
      await authenticateToPeer(conn, this.deps.identity, 2000);
    } catch (err) {
      await conn.close();
      throw err;
    }
    return conn;
  }

  private async liveLoop(): Promise<void> {
    let delay = RECONNECT_MIN_MS;
    let first = true;
    while (!this.stopped) {
      if (!(await this.identify())) {
        await this.sleep(RECONNECT_MAX_MS);
        continue;
      }
      try {
        const conn = await this.connect();
        this.liveConn = conn;
        conn.send(['REQ', LIVE_SUB, { limit: 0 }]);
        if (!first) this.deps.requestPoll();
        first = false;
        delay = RECONNECT_MIN_MS;
        await this.receiveLive(conn);
      } catch (err) {
        if (!this.stopped) this.logger.debug({ err: (err as Error).message }, 'live link to peer down');
      } finally {
        this.bytesIn += this.liveConn?.bytesDown ?? 0;
        await this.liveConn?.close();
        this.liveConn = undefined;
      }
      if (this.stopped) break;
      await this.sleep(delay);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
    this.liveRunning = false;
  }

  private async receiveLive(conn: PeerConnection): Promise<void> {
    const source = { url: this.url, pubkey: this.pubkey };
    for (;;) {
      let frame: unknown[];
      try {
        frame = await conn.receive(LIVE_IDLE_MS);
      } catch (err) {
        if (err instanceof ReceiveTimeout) continue;
        throw err;
      }
      if (frame[1] !== LIVE_SUB) continue;
      if (frame[0] === 'CLOSED')
        throw new Error(`the peer closed the live subscription: ${String(frame[2] ?? '')}`);
      if (frame[0] === 'EVENT' && (await this.deps.ingest.ingest(frame[2], source)) === 'stored')
        this.replicated++;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
