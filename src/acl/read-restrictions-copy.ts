/**
 * The relay's copy of orly-acl's read restrictions (GetReadRestrictions), so that
 * `hiddenAuthors` answers synchronously on the query path without a call per query.
 *
 * - load() fetches once and throws on failure (GrpcAccessControl.connect: a relay does not start
 *   without knowing what to hide).
 * - refresh() fetches after any fetch already running (so a refresh asked for after a change is
 *   never answered by a fetch that began before it) and never rejects: on failure the last copy is
 *   kept and a warning logged (once until a fetch succeeds again).
 * - start(everyMs) refreshes periodically (skipped while a fetch runs); the timer is unref'd and
 *   cleared by stop().
 * Each fetch names the version held; an unchanged answer carries no lists.
 */
import type { ReadRestrictionsResponse } from '../gen/orlyacl/v1/acl.js';
import type { Logger } from '../logger.js';
import type { ReadRestrictions } from './access-control.js';

export class ReadRestrictionsCopy {
  private current: ReadRestrictions = { hidden: new Set(), exempt: new Set() };
  private version = '';
  private chain: Promise<void> = Promise.resolve();
  private running = 0;
  private failing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly fetch: (knownVersion: string) => Promise<ReadRestrictionsResponse>,
    private readonly logger?: Logger,
  ) {}

  get restrictions(): ReadRestrictions {
    return this.current;
  }

  async load(): Promise<void> {
    const res = await this.fetch(this.version);
    if (!res.unchanged)
      this.current = { hidden: new Set(res.hiddenAuthors), exempt: new Set(res.exemptPubkeys) };
    this.version = res.version;
  }

  refresh(): Promise<void> {
    this.running++;
    const next = this.chain.then(() =>
      this.load().then(
        () => {
          if (this.failing) this.logger?.info('read restrictions refreshed from orly-acl again');
          this.failing = false;
        },
        (err: Error) => {
          if (!this.failing)
            this.logger?.warn(
              { err: err.message },
              'could not refresh the read restrictions from orly-acl: keeping the last copy',
            );
          this.failing = true;
        },
      ),
    );
    this.chain = next.finally(() => {
      this.running--;
    });
    return this.chain;
  }

  start(everyMs: number): void {
    this.stop();
    this.timer = setInterval(() => {
      if (this.running === 0) void this.refresh();
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
