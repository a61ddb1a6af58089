/**
 * Per-peer progress of distributed sync, durable in the store's state so a restart resumes
 * where it stopped: key `sync.distributed.peer.<peer http url>`, value JSON `{"serial":N,
 * "pubkey":"<hex>"}` — the last serial of that peer whose events are all here, and who the peer
 * was (a peer whose identity changed is a different database: its serials start over).
 */
import type { StateStore } from '../../store/event-store.js';

const PREFIX = 'sync.distributed.peer.';

export interface PeerProgress {
  readonly serial: number;
  readonly pubkey: string;
}

export class ProgressStore {
  constructor(private readonly state: Pick<StateStore, 'getState' | 'putState'>) {}

  async load(url: string): Promise<PeerProgress> {
    const raw = await this.state.getState(PREFIX + url);
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
    return this.state.putState([[PREFIX + url, JSON.stringify(progress)]]);
  }

  forget(url: string): Promise<void> {
    return this.state.putState([[PREFIX + url, undefined]]);
  }
}
