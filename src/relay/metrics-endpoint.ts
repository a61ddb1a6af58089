/**
 * Who may read /metrics, and where it is served:
 *
 * - ORLY_METRICS_LISTEN (host:port): on a server of its own there, and no longer on the relay's
 *   port (404 there);
 * - ORLY_METRICS_TOKEN: only with `Authorization: Bearer <token>` (else 401), wherever served;
 * - neither: on the relay's port, only to a direct client on this machine (loopback, not through
 *   a proxy), else 403. Behind the usual reverse proxy the relay's port is the public site, and
 *   metrics (connection counts, process internals; each scrape asks the store for its size) are
 *   not for everyone; a Prometheus or curl on the same host keeps working.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsConfig } from './config.js';
import type { RelayMetrics } from './metrics.js';
import type { RequestHead } from './transport/http-exchange.js';
import { listenHttp } from './transport/listen-http.js';
import { nodeRequestHead } from './transport/node-http-exchange.js';
import { isDirectLocal } from './trusted-proxies.js';

export interface MetricsAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function bearerMatches(req: RequestHead, token: string): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' };

/** Whether this request may read /metrics here (`onRelayPort`: the relay's own port); undefined = yes. */
export function metricsRefusal(
  req: RequestHead,
  config: MetricsConfig,
  onRelayPort: boolean,
): MetricsAnswer | undefined {
  if (onRelayPort && config.listen !== undefined) return { status: 404, headers: TEXT, body: 'not found\n' };
  if (config.token !== undefined) {
    if (bearerMatches(req, config.token)) return undefined;
    return {
      status: 401,
      headers: { ...TEXT, 'WWW-Authenticate': 'Bearer realm="metrics"' },
      body: 'metrics need Authorization: Bearer <ORLY_METRICS_TOKEN>\n',
    };
  }
  if (!onRelayPort || isDirectLocal(req)) return undefined;
  return {
    status: 403,
    headers: TEXT,
    body: 'metrics are served to this machine only; the operator may set ORLY_METRICS_TOKEN or ORLY_METRICS_LISTEN\n',
  };
}

/** The Prometheus text, or a 500 saying why not. */
export async function metricsText(metrics: RelayMetrics): Promise<MetricsAnswer> {
  try {
    const body = await metrics.registry.metrics();
    return { status: 200, headers: { 'Content-Type': metrics.registry.contentType }, body };
  } catch (err) {
    return { status: 500, headers: TEXT, body: `metrics failed: ${(err as Error).message}\n` };
  }
}

function reply(res: ServerResponse, answer: MetricsAnswer): void {
  res.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.body) });
  res.end(res.req.method === 'HEAD' ? undefined : answer.body);
}

/** The ORLY_METRICS_LISTEN server: GET /metrics, nothing else. */
export class MetricsServer {
  private readonly http: Server;

  constructor(
    private readonly metrics: RelayMetrics,
    private readonly config: MetricsConfig,
  ) {
    this.http = createServer((req, res) => void this.handle(req, res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.url ?? '/').split('?')[0] !== '/metrics')
      return reply(res, { status: 404, headers: TEXT, body: 'not found\n' });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return reply(res, { status: 405, headers: { ...TEXT, Allow: 'GET, HEAD' }, body: '' });
    reply(res, metricsRefusal(nodeRequestHead(req), this.config, false) ?? (await metricsText(this.metrics)));
  }

  /** Listens on host:port; resolves with the bound port. */
  async start(host: string, port: number): Promise<number> {
    await listenHttp(this.http, host, port);
    return this.port;
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }

  stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    return closed;
  }
}
