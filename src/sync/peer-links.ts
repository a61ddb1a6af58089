/**
 * A sync service's set of peers (distributed sync's peers, a cluster's members): one PeerLink
 * each, started and stopped as the set changes (a removed peer's progress is forgotten), polled
 * on an interval and on request, their identities for the endpoints' authorization and their
 * status. Changes to the set apply one at a time.
 */
import { PeerLink, type PeerLinkDeps } from './distributed/peer-link.js';
import { httpUrlOf } from './identity/peer-directory.js';
import type { PeerStatus } from './replication.js';

/** What every link gets (PeerLinkDeps, the poll request aside), and whether links go live. */
export interface PeerLinksOptions extends Omit<PeerLinkDeps, 'requestPoll'> {
  readonly live: boolean;
}

export class PeerLinks {
  private readonly links = new Map<string, PeerLink>();
  private timer: NodeJS.Timeout | undefined;
  private pollSoon: NodeJS.Timeout | undefined;
  private started = false;
  private changing: Promise<void> = Promise.resolve();

  constructor(private readonly options: PeerLinksOptions) {}

  get urls(): string[] {
    return [...this.links.keys()];
  }

  start(): void {
    this.started = true;
    for (const link of this.links.values()) this.run(link);
    this.timer = setInterval(() => void this.pollAll(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops polling and every link (the set and its progress stay: resume() starts again). */
  async stop(): Promise<void> {
    this.halt();
    await this.changing;
    this.halt(); // a resume() queued before this stop ran meanwhile
    await Promise.all([...this.links.values()].map((link) => link.stop()));
  }

  /** Polling and the live links running (between start() or resume() and stop()). */
  get running(): boolean {
    return this.started;
  }

  /**
   * After stop(): starts again with fresh links for the same set (their progress reloaded from
   * the store; the stopped ones kept their last status until then). No-op while running.
   */
  resume(): Promise<void> {
    const next = this.changing.then(async () => {
      if (this.started) return;
      for (const [url, old] of this.links) {
        await old.stop();
        this.links.set(url, await this.newLink(url, old.wsUrl));
      }
      this.start();
    });
    this.changing = next.catch(() => undefined);
    return next;
  }

  /**
   * Replaces the set (urls already canonical); resolves once applied. `wsUrls`: a peer's
   * WebSocket URL where it is not its http URL with the scheme swapped (a changed one restarts
   * that peer's link, its progress kept).
   */
  set(urls: readonly string[], wsUrls: ReadonlyMap<string, string> = new Map()): Promise<void> {
    const next = this.changing.then(() => this.apply(urls, wsUrls));
    this.changing = next.catch(() => undefined);
    return next;
  }

  async pollAll(): Promise<void> {
    await Promise.all([...this.links.values()].map((link) => link.poll()));
  }

  /** Starts a poll of one peer (any form of its URL), or of all; how many were started. */
  trigger(url?: string): number {
    if (url === undefined) {
      for (const link of this.links.values()) void link.poll();
      return this.links.size;
    }
    const link = this.linkOf(url);
    if (link === undefined) return 0;
    void link.poll();
    return 1;
  }

  /** The link of a peer in the set, given as any form of its URL. */
  linkOf(url: string): PeerLink | undefined {
    const key = httpUrlOf(url);
    return key === undefined ? undefined : this.links.get(key);
  }

  /** Polls one peer now; false when it is not in the set. */
  async pollOne(url: string): Promise<boolean> {
    const link = this.linkOf(url);
    if (link === undefined) return false;
    await link.poll();
    return true;
  }

  statuses(): PeerStatus[] {
    return [...this.links.values()].map((link) => link.status());
  }

  /** The WebSocket URL each peer's link uses. */
  wsUrlOf(url: string): string | undefined {
    return this.linkOf(url)?.wsUrl;
  }

  /** The identities of the peers (those whose NIP-11 could be read), never our own. */
  async identities(): Promise<ReadonlySet<string>> {
    const keys = await Promise.all(this.urls.map((url) => this.options.directory.pubkeyOf(url)));
    return new Set(keys.filter((k): k is string => k !== undefined && k !== this.options.identity.pubkey));
  }

  private halt(): void {
    this.started = false;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.pollSoon !== undefined) clearTimeout(this.pollSoon);
    this.timer = undefined;
    this.pollSoon = undefined;
  }

  private async newLink(url: string, wsUrl?: string): Promise<PeerLink> {
    const link = new PeerLink(url, { ...this.options, requestPoll: () => this.requestPoll() }, wsUrl);
    await link.load();
    return link;
  }

  private requestPoll(): void {
    if (this.pollSoon !== undefined || !this.started) return;
    this.pollSoon = setTimeout(() => {
      this.pollSoon = undefined;
      void this.pollAll();
    }, 100);
    this.pollSoon.unref();
  }

  private run(link: PeerLink): void {
    if (this.options.live) link.startLive();
    void link.poll();
  }

  private async apply(urls: readonly string[], wsUrls: ReadonlyMap<string, string>): Promise<void> {
    const { logger, relayUrl } = this.options;
    // Our own URL (in any form) is dropped without a fetch; another name of ours is found by identity.
    const own = httpUrlOf(relayUrl);
    const wanted = new Set(urls.filter((url) => url !== own));
    for (const [url, link] of this.links) {
      if (wanted.has(url)) continue;
      this.links.delete(url);
      await link.stop();
      await this.options.progress.forget(url);
      logger.info({ peer: url }, 'peer removed: replication with it stopped, its progress forgotten');
    }
    for (const url of wanted) {
      const old = this.links.get(url);
      const ws = wsUrls.get(url);
      if (old !== undefined && (ws === undefined || ws === old.wsUrl)) continue;
      await old?.stop();
      const link = await this.newLink(url, ws);
      this.links.set(url, link);
      logger.info(
        { peer: url, ws: link.wsUrl },
        old === undefined ? 'peer added' : 'peer WebSocket URL changed',
      );
      if (this.started) this.run(link);
    }
  }
}
