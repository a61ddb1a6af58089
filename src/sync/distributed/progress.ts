/**
 * Per-peer progress of a sync service, durable in the store's state so a restart resumes where
 * it stopped: key `<prefix><peer http url>` (distributed sync: `sync.distributed.peer.`; cluster:
 * `sync.cluster.peer.`), value JSON `{"serial":N,
 * "pubkey":"<hex>"}` — the last serial of that peer whose events are all here, and who the peer
 * was (a peer whose identity changed is a different database: its serials start over).
 */
import type { StateStore } from '../../store/event-store.js';

export const DISTRIBUTED_PREFIX = 'sync.distributed.peer.';

export interface PeerProgress {
  readonly serial: number;
  readonly pubkey: string;
}

export class ProgressStore {
  constructor(
    private readonly state: Pick<StateStore, 'getState' | 'putState'>,
    private readonly prefix = DISTRIBUTED_PREFIX,
  ) {}

  async load(url: string): Promise<PeerProgress> {
    const raw = await this.state.getState(this.prefix + url);
    if (raw === undefined) return { serial: 0, pubkey: '' };
    try {
      const value = JSON.parse(raw) as { serial?: unknown; pubkey?: unknown };
      const serial =
        typeof value.serial === 'number' && Number.isSafeInteger(value.serial) ? value.serial : 0;
      return { serial: Math.max(0, serial), pubkey: typeof value.pubkey === 'string' ? value.pubkey : '' };
    } catch {
      return { serial: 0, pubkey: '' };
    }
  }

  save(url: string, progress: PeerProgress): Promise<void> {
    return this.state.putState([[this.prefix + url, JSON.stringify(progress)]]);
  }

  forget(url: string): Promise<void> {
    return this.state.putState([[this.prefix + url, undefined]]);
  }
}
