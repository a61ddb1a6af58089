/** NIP-40: purges expired events from the store in the background, on an interval. */
import type { Logger } from '../logger.js';
import { nowSeconds } from '../protocol/event.js';
import type { StoreAdmin } from './event-store.js';

export class ExpirationSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: StoreAdmin,
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs one sweep now (no overlap with a running one). */
  sweep(): Promise<void> {
    this.running ??= this.store
      .purgeExpired(nowSeconds())
      .then((purged) => {
        if (purged > 0) this.logger.info({ purged }, 'purged expired events');
      })
      .catch((err: Error) => this.logger.error({ err: err.message }, 'expiration sweep failed'))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async idle(): Promise<void> {
    await this.running;
  }
}
