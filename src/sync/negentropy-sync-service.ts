/**
 * The relay-to-relay side of orly-sync-negentropy: a peer list with per-peer state, a
 * background loop that syncs every peer each interval (a failing peer is retried with
 * exponential backoff and reported, never blocking the others), on-demand syncs (TriggerSync,
 * SyncWithPeer) and the list of running sync sessions, each cancellable. Every sync is
 * peer-sync.ts (reconcile + transfer, like direct-mode `orly sync`) against the given store.
 */
import { randomUUID } from 'node:crypto';
import { type Admission, admissionOf, type WritePolicy } from '../acl/policy/plugin-protocol.js';
import type { SignatureVerifier } from '../crypto/signature-verifier.js';
import { VerifierPool } from '../crypto/verifier-pool.js';
import type { Logger } from '../logger.js';
import { type NostrEvent, nowSeconds } from '../protocol/event.js';
import type { NormalizedFilter } from '../protocol/filter.js';
import type { ClientStore, SyncSource } from '../store/event-store.js';
import type { Direction } from './direction.js';
import {
  type PeerSyncParams,
  type PeerSyncProgress,
  type PeerSyncResult,
  type SyncPhase,
  syncWithPeer,
} from './peer-sync.js';

export interface SyncServiceConfig {
  readonly peers: readonly string[];
  /** Milliseconds between background syncs of a peer. */
  readonly intervalMs: number;
  /** Max bytes of one NEG-MSG we send (0 = none). */
  readonly frameSizeLimit: number;
  /** Filter of background syncs. */
  readonly filter: NormalizedFilter;
  /** Direction of background syncs. */
  readonly dir: Direction;
  /** Per-phase inactivity timeout. */
  readonly timeoutMs: number;
  /** First retry delay after a failure (doubles per failure; default 5 s). */
  readonly backoffBaseMs?: number;
  /** Longest retry delay (default 10 min, at least the interval). */
  readonly backoffMaxMs?: number;
  /** Start the background loop at once (default true). */
  readonly autoStart?: boolean;
}

export type PeerStateName = 'idle' | 'syncing' | 'ok' | 'failed';

export interface PeerState {
  readonly url: string;
  state: PeerStateName;
  lastAttemptMs: number;
  lastSuccessMs: number;
  nextAttemptMs: number;
  consecutiveFailures: number;
  lastError: string;
  totalFetched: number;
  totalSent: number;
  lastHave: number;
  lastNeed: number;
}

export interface SyncSessionInfo {
  readonly id: string;
  readonly peerUrl: string;
  phase: SyncPhase;
  readonly startedMs: number;
  readonly origin: 'client' | 'background';
}

interface Session extends SyncSessionInfo {
  readonly abort: AbortController;
}

export interface SyncRunOptions {
  readonly filter: NormalizedFilter;
  readonly dir: Direction;
  readonly frameSizeLimit: number;
  readonly timeoutMs: number;
}

/** Checks a peer URL; returns the reason it is unusable, or undefined. */
export function peerUrlProblem(url: string): string | undefined {
  if (!/^wss?:\/\/./i.test(url))
    return `peer URL must start with ws:// or wss:// (got ${JSON.stringify(url)})`;
  try {
    new URL(url);
  } catch {
    return `invalid peer URL ${JSON.stringify(url)}`;
  }
  return undefined;
}

export class NegentropySyncService {
  private readonly peers = new Map<string, PeerState>();
  private readonly sessions = new Map<string, Session>();
  private running: boolean;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private verifier: VerifierPool | undefined;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly store: ClientStore & SyncSource,
    private readonly config: SyncServiceConfig,
    private readonly logger: Logger,
    private readonly givenVerifier?: SignatureVerifier,
    /** ORLY_WRITE_POLICY_PLUGIN: asked about every downloaded event (sourceType Sync, the peer's URL). */
    private readonly writePolicy?: WritePolicy,
  ) {
    this.backoffBaseMs = config.backoffBaseMs ?? 5000;
    this.backoffMaxMs = Math.max(config.backoffMaxMs ?? 600_000, this.backoffBaseMs);
    for (const url of config.peers) this.addPeer(url);
    this.running = config.autoStart ?? true;
    this.timer = setInterval(() => this.tick(), Math.max(50, Math.min(1000, config.intervalMs)));
    this.timer.unref();
    if (this.running) queueMicrotask(() => this.tick());
  }

  get isRunning(): boolean {
    return this.running;
  }

  get intervalMs(): number {
    return this.config.intervalMs;
  }

  get defaults(): SyncRunOptions {
    return this.config;
  }

  start(): void {
    if (this.closed) return;
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
  }

  peerUrls(): string[] {
    return [...this.peers.keys()];
  }

  peerStates(): PeerState[] {
    return [...this.peers.values()].map((p) => ({ ...p }));
  }

  peerState(url: string): PeerState | undefined {
    const p = this.peers.get(url);
    return p ? { ...p } : undefined;
  }

  /** Adds a peer (synced on the next tick); false when already present. Throws on a bad URL. */
  addPeer(url: string): boolean {
    const problem = peerUrlProblem(url);
    if (problem) throw new Error(problem);
    if (this.peers.has(url)) return false;
    this.peers.set(url, {
      url,
      state: 'idle',
      lastAttemptMs: 0,
      lastSuccessMs: 0,
      nextAttemptMs: 0,
      consecutiveFailures: 0,
      lastError: '',
      totalFetched: 0,
      totalSent: 0,
      lastHave: 0,
      lastNeed: 0,
    });
    return true;
  }

  /** Removes a peer and cancels its running background sync. */
  removePeer(url: string): boolean {
    if (!this.peers.delete(url)) return false;
    for (const s of this.sessions.values())
      if (s.peerUrl === url && s.origin === 'background') s.abort.abort();
    return true;
  }

  /** Starts a background sync of one peer (or all with undefined) now; returns how many started. */
  trigger(url?: string): number {
    let n = 0;
    for (const peer of this.peers.values()) {
      if (url !== undefined && peer.url !== url) continue;
      if (this.syncPeer(peer)) n++;
    }
    return n;
  }

  listSessions(): SyncSessionInfo[] {
    return [...this.sessions.values()].map(({ id, peerUrl, phase, startedMs, origin }) => ({
      id,
      peerUrl,
      phase,
      startedMs,
      origin,
    }));
  }

  closeSession(id: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    s.abort.abort();
    return true;
  }

  /**
   * One sync with any peer (SyncWithPeer): runs as a session, cancellable through `signal`;
   * `onIds` receives the reconciled ids before any transfer (peer-sync.ts).
   */
  async run(
    url: string,
    options: SyncRunOptions,
    origin: 'client' | 'background',
    onProgress?: (p: Readonly<PeerSyncProgress>, sessionId: string) => void,
    signal?: AbortSignal,
    onIds?: PeerSyncParams['onIds'],
  ): Promise<PeerSyncResult> {
    if (this.closed) throw new Error('the sync service is shutting down');
    const abort = new AbortController();
    const onOuterAbort = (): void => abort.abort();
    signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (signal?.aborted) abort.abort();
    const session: Session = {
      id: randomUUID(),
      peerUrl: url,
      phase: 'connect',
      startedMs: Date.now(),
      origin,
      abort,
    };
    this.sessions.set(session.id, session);
    try {
      return await syncWithPeer({
        url,
        store: this.store,
        filter: options.filter,
        dir: options.dir,
        frameSizeLimit: options.frameSizeLimit,
        timeoutMs: options.timeoutMs,
        verifier: this.getVerifier(),
        signal: abort.signal,
        log: (line) => this.logger.debug({ peer: url }, line),
        onProgress: (p) => {
          session.phase = p.phase;
          onProgress?.(p, session.id);
        },
        onIds,
        ...(this.writePolicy === undefined ? {} : { admit: this.admitFrom(url, this.writePolicy) }),
      });
    } finally {
      signal?.removeEventListener('abort', onOuterAbort);
      this.sessions.delete(session.id);
    }
  }

  /** Stops the loop, cancels every session and waits for background syncs; closes the verifier. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    clearInterval(this.timer);
    for (const s of this.sessions.values()) s.abort.abort();
    await Promise.allSettled([...this.background]);
    await this.verifier?.close();
  }

  /** The write policy as a download's admit for events from `url`. */
  private admitFrom(url: string, policy: WritePolicy): (event: NostrEvent) => Promise<Admission> {
    return async (event) =>
      admissionOf(
        await policy.decide({ event, receivedAt: nowSeconds(), sourceType: 'Sync', sourceInfo: url }),
      );
  }

  private getVerifier(): SignatureVerifier {
    if (this.givenVerifier) return this.givenVerifier;
    this.verifier ??= new VerifierPool({ workers: 1 });
    return this.verifier;
  }

  private tick(): void {
    if (!this.running || this.closed) return;
    const now = Date.now();
    for (const peer of this.peers.values()) {
      if (peer.state !== 'syncing' && now >= peer.nextAttemptMs) this.syncPeer(peer);
    }
  }

  /** Runs one background sync of `peer` unless one is running; true when started. */
  private syncPeer(peer: PeerState): boolean {
    if (this.closed || peer.state === 'syncing') return false;
    peer.state = 'syncing';
    peer.lastAttemptMs = Date.now();
    const work = this.run(peer.url, this.config, 'background').then(
      (result) => {
        peer.state = 'ok';
        peer.consecutiveFailures = 0;
        peer.lastError = '';
        peer.lastSuccessMs = Date.now();
        peer.nextAttemptMs = peer.lastSuccessMs + this.config.intervalMs;
        peer.totalFetched += result.fetched;
        peer.totalSent += result.sent;
        peer.lastHave = result.have;
        peer.lastNeed = result.need;
        this.logger.info(
          {
            peer: peer.url,
            have: result.have,
            need: result.need,
            fetched: result.fetched,
            sent: result.sent,
          },
          'peer sync done',
        );
      },
      (err: unknown) => {
        peer.state = 'failed';
        peer.consecutiveFailures++;
        peer.lastError = err instanceof Error ? err.message : String(err);
        const delay = Math.min(
          this.backoffMaxMs,
          this.backoffBaseMs * 2 ** Math.min(30, peer.consecutiveFailures - 1),
        );
        peer.nextAttemptMs = Date.now() + delay;
        this.logger.warn(
          { peer: peer.url, failures: peer.consecutiveFailures, retryInMs: delay, err: peer.lastError },
          'peer sync failed',
        );
      },
    );
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
    return true;
  }
}
