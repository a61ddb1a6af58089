/**
 * Plain HTTP on the relay's port: NIP-11 on `GET /` with `Accept: application/nostr+json`,
 * a small HTML page on a plain `GET /`, the NIP-86 management API on `POST /` and
 * `POST /api/nip86` (management-endpoint.ts), `/health` while the store is open, `/metrics` for
 * Prometheus (see metrics-endpoint.ts for who may read it). CORS headers on everything (NIP-11
 * requires them).
 */
import { ManagementEndpoint } from './management-endpoint.js';
import { metricsRefusal, metricsText } from './metrics-endpoint.js';
import { relayInformation } from './nip11.js';
import type { RelayContext } from './relay-context.js';
import type { HttpExchange } from './transport/http-exchange.js';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  // `*` does not cover Authorization (NIP-98, for browser NIP-86 clients).
  'Access-Control-Allow-Headers': '*, Authorization',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
};

export function handleHttpRequest(relay: RelayContext, exchange: HttpExchange): void {
  const path = exchange.url.split('?')[0];
  if (exchange.method === 'OPTIONS') {
    send(exchange, 204, {}, '');
    return;
  }
  if (ManagementEndpoint.wants(exchange, path ?? '/')) {
    relay.managementApi.handle(exchange, CORS);
    return;
  }
  const sync = relay.replication.serviceFor(path ?? '/');
  if (sync !== undefined) {
    void relay.replication.handle(sync, exchange, {
      remoteAddr: relay.clientIp(exchange),
      requestUrls: relay.requestUrls(exchange),
      cors: CORS,
    });
    return;
  }
  if (exchange.method !== 'GET' && exchange.method !== 'HEAD') {
    send(exchange, 405, { Allow: 'GET, HEAD, POST, OPTIONS' }, '');
    return;
  }
  switch (path) {
    case '/':
      if (String(exchange.headers.accept ?? '').includes('application/nostr+json')) {
        const overrides = relay.access.management?.relayInfo() ?? Promise.resolve({});
        void overrides
          .catch((err: Error) => {
            relay.logger.warn({ err: err.message }, 'relay information overrides unavailable');
            return {};
          })
          .then((set) =>
            send(
              exchange,
              200,
              { 'Content-Type': 'application/nostr+json', Vary: 'Accept' },
              JSON.stringify(relayInformation(relay.config, set, relay.identity?.pubkey)),
            ),
          );
        return;
      }
      send(exchange, 200, { 'Content-Type': 'text/html; charset=utf-8', Vary: 'Accept' }, homePage(relay));
      return;
    case '/health': {
      const up = relay.store.isOpen() && !relay.isStopping;
      send(
        exchange,
        up ? 200 : 503,
        { 'Content-Type': 'application/json' },
        JSON.stringify({ status: up ? 'ok' : 'unavailable' }),
      );
      return;
    }
    case '/metrics': {
      // Local clients only, a bearer token, or another port: metrics-endpoint.ts.
      const refusal = metricsRefusal(exchange, relay.config.metrics, true);
      if (refusal !== undefined) send(exchange, refusal.status, refusal.headers, refusal.body);
      else
        void metricsText(relay.metrics).then((answer) =>
          send(exchange, answer.status, answer.headers, answer.body),
        );
      return;
    }
    default:
      send(exchange, 404, { 'Content-Type': 'text/plain' }, 'not found\n');
      return;
  }
}

function send(exchange: HttpExchange, status: number, headers: Record<string, string>, body: string): void {
  exchange.respond(status, { ...CORS, ...headers }, body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function homePage(relay: RelayContext): string {
  const { name, description } = relay.config.info;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(name)}</title></head>
<body>
<h1>${escapeHtml(name)}</h1>
<p>${escapeHtml(description)}</p>
<p>This is a Nostr relay. Connect a Nostr client to this address with a WebSocket (ws:// or wss://).</p>
</body></html>
`;
}
