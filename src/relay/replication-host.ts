/**
 * The replication services the relay hosts (distributed sync in process, or the gRPC clients of
 * the sync services): their HTTP endpoints on the relay's port (the body read here, at most
 * MAX_BODY bytes, then 413), their start and stop with the relay, and the nudge for each stored
 * event. A service that throws answers 500; nothing it does can take the relay down.
 */
import type { Logger } from '../logger.js';
import type { NostrEvent } from '../protocol/event.js';
import type { Replication, ReplicationStatus } from '../sync/replication.js';
import { type HttpExchange, MAX_HTTP_BODY } from './transport/http-exchange.js';

const MAX_BODY = MAX_HTTP_BODY;

export class ReplicationHost {
  private readonly byPath = new Map<string, Replication>();

  constructor(
    private readonly services: readonly Replication[],
    private readonly logger: Logger,
  ) {
    for (const service of services) for (const path of service.paths) this.byPath.set(path, service);
  }

  get hasServices(): boolean {
    return this.services.length > 0;
  }

  /** Every service's status; a service that cannot report is left out (and logged at debug). */
  async statuses(): Promise<{ service: string; status: ReplicationStatus }[]> {
    const all = await Promise.all(
      this.services.map(async (service) => {
        try {
          return { service: service.name, status: await service.status() };
        } catch (err) {
          this.logger.debug(
            { err: (err as Error).message, service: service.name },
            'replication status unavailable',
          );
          return undefined;
        }
      }),
    );
    return all.filter((s): s is { service: string; status: ReplicationStatus } => s !== undefined);
  }

  /** The service serving `path`, if any. */
  serviceFor(path: string): Replication | undefined {
    return this.byPath.get(path);
  }

  async handle(
    service: Replication,
    req: HttpExchange,
    context: {
      readonly remoteAddr: string;
      readonly requestUrls: readonly string[];
      readonly cors: Record<string, string>;
    },
  ): Promise<void> {
    const [path = '/', query = ''] = req.url.split('?', 2);
    let status = 500;
    let headers: Record<string, string> = { 'Content-Type': 'application/json' };
    let body = JSON.stringify({ error: 'internal error' });
    let close = false;
    try {
      const raw = await req.readBody(MAX_BODY);
      if (raw === undefined) {
        status = 413;
        body = JSON.stringify({ error: `body over ${MAX_BODY} bytes` });
        close = true;
      } else {
        const answer = await service.handleHttp({
          method: req.method,
          path,
          query,
          headers: Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
          ),
          body: raw,
          remoteAddr: context.remoteAddr,
          requestUrls: context.requestUrls,
        });
        ({ status, headers, body } = answer);
      }
    } catch (err) {
      this.logger.error({ err: (err as Error).message, service: service.name, path }, 'sync endpoint failed');
    }
    req.respond(status, { ...context.cors, ...headers }, body, close);
  }

  notifyStored(serial: number, event?: NostrEvent): void {
    for (const service of this.services) service.notifyNewEvent(serial, event);
  }

  /** True when one of `authed` is a service's trusted reader (may read restricted kinds). */
  isTrusted(authed: ReadonlySet<string>): boolean {
    for (const service of this.services) {
      const trusted = service.trustedReaders?.();
      if (trusted === undefined || trusted.size === 0) continue;
      for (const pubkey of authed) if (trusted.has(pubkey)) return true;
    }
    return false;
  }

  async start(): Promise<void> {
    for (const service of this.services) await service.start();
  }

  async stop(): Promise<void> {
    for (const service of [...this.services].reverse()) {
      await service
        .stop()
        .catch((err: Error) =>
          this.logger.warn({ err: err.message, service: service.name }, 'sync service stop failed'),
        );
    }
  }
}
