/**
 * GroupPeerPush: hands the relays of the configuration in force to orly-sync-distributed
 * (`setGroupPeers`, i.e. UpdatePeers with keep_configured: its own ORLY_SYNC_DISTRIBUTED_PEERS
 * stay beside them), and keeps them there.
 *
 * - set(relays): the list to push; pushed at once, one push at a time. A newer list replaces one
 *   not yet pushed (the older is never sent after it).
 * - A push that fails in transport (orly-sync-distributed down, restarting, unreachable: a gRPC
 *   error) is retried with a bounded backoff (retryInitialMs doubling up to retryMaxMs) until it
 *   succeeds or set() gives a newer list, which is tried at once. A refusal (the service answered
 *   that the list is invalid, e.g. more than 100 peers with its own) is logged and not retried.
 * - resync(): pushes the current list again. orly-sync-distributed keeps the pushed relays in
 *   memory only, so after its restart it follows its configured peers until the next push; the
 *   service calls resync() periodically (pushing an unchanged list changes nothing there).
 * Nothing is pushed before the first set(): without a configuration in force the distributed
 * service keeps its own peer list.
 */
import type { Logger } from '../../logger.js';

export interface GroupPeerTarget {
  setGroupPeers(relays: readonly string[]): Promise<string[]>;
}

export interface GroupPeerPushOptions {
  readonly target: GroupPeerTarget;
  readonly logger: Logger;
  /** First retry delay after a failed push (default 500 ms). */
  readonly retryInitialMs?: number;
  /** Longest retry delay (default 30 s). */
  readonly retryMaxMs?: number;
}

/** A gRPC failure (the call did not get an answer), as opposed to a refusal in the answer. */
function isTransportError(err: unknown): boolean {
  return typeof (err as { code?: unknown }).code === 'number';
}

export class GroupPeerPush {
  private wanted: readonly string[] | undefined;
  /** Bumped by set() and resync(); the push of a generation is done when `done` reaches it. */
  private generation = 0;
  private done = 0;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private lastPushed: readonly string[] | undefined;

  constructor(private readonly options: GroupPeerPushOptions) {}

  /** The relays last pushed successfully (undefined before the first success). */
  get pushed(): readonly string[] | undefined {
    return this.lastPushed;
  }

  set(relays: readonly string[]): void {
    this.wanted = [...relays];
    this.bump();
  }

  resync(): void {
    if (this.wanted !== undefined) this.bump();
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.wake?.();
    await this.running;
  }

  private bump(): void {
    if (this.closed) return;
    this.generation++;
    this.wake?.();
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    const { logger, target } = this.options;
    const initial = this.options.retryInitialMs ?? 500;
    const max = Math.max(initial, this.options.retryMaxMs ?? 30_000);
    let failures = 0;
    while (!this.closed && this.done < this.generation && this.wanted !== undefined) {
      const generation = this.generation;
      const relays = this.wanted;
      try {
        const peers = await target.setGroupPeers(relays);
        if (failures > 0 || !sameList(relays, this.lastPushed))
          logger.info({ relays, peers }, 'relay group pushed to orly-sync-distributed');
        this.lastPushed = relays;
        this.done = generation;
        failures = 0;
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        if (!isTransportError(err)) {
          logger.error({ relays, err: message }, 'orly-sync-distributed refused the relay group');
          this.done = generation;
          failures = 0;
          continue;
        }
        failures++;
        const delay = Math.min(max, initial * 2 ** Math.min(failures - 1, 30));
        if (failures === 1)
          logger.warn(
            { relays, err: message, retryMs: delay },
            'pushing the relay group to orly-sync-distributed failed; retrying',
          );
        else logger.debug({ err: message, retryMs: delay, failures }, 'relay group push failed again');
        await this.sleep(delay, generation);
      }
    }
  }

  /** Waits `ms`, or less when a newer list arrives or the push stops. */
  private sleep(ms: number, generation: number): Promise<void> {
    if (this.closed || this.generation !== generation) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      timer = setTimeout(finish, ms);
      timer.unref();
      this.wake = finish;
    });
  }
}

function sameList(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((url, i) => url === b[i]);
}
