/**
 * HttpExchange and the upgrade request over uWebSockets.js. uWS's rules: its HttpRequest lives
 * only during the route callback (so method, URL, headers and the peer are copied at once); a
 * response answered later needs an onAborted handler (after which it must not be touched), and
 * its body arrives through onData, attached at once too (chunks are copied: uWS reuses them).
 * The body is read as it comes, up to MAX_HTTP_BODY; a longer one is not kept.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse, us_socket_context_t } from '@trufflesuite/uws-js-unofficial';
import type { ClientSocket } from './client-socket.js';
import { type HttpExchange, MAX_HTTP_BODY, type RequestHead } from './http-exchange.js';
import type { SocketHandlers, UpgradeRequest } from './transport.js';
import { addressText } from './uws-address.js';
import { socketState } from './uws-socket-state.js';

/** Headers node's http server keeps the first of when repeated (it joins the others with ", "). */
const FIRST_ONLY = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Headers the transport writes itself. */
const OWN_HEADERS = new Set(['content-length', 'connection']);

/** Copies what the relay reads of a uWS request (valid only during its callback). */
function readHead(res: HttpResponse, req: HttpRequest): RequestHead {
  const headers: IncomingHttpHeaders = {};
  req.forEach((key, value) => {
    const before = headers[key];
    if (before === undefined) headers[key] = value;
    else if (!FIRST_ONLY.has(key)) headers[key] = `${before}, ${value}`;
  });
  const query = req.getQuery();
  return {
    method: req.getCaseSensitiveMethod().toUpperCase(),
    url: query === '' || query === undefined ? req.getUrl() : `${req.getUrl()}?${query}`,
    headers,
    remoteAddress: addressText(res.getRemoteAddress()),
  };
}

/** Writes a whole answer in one corked write. */
function answer(
  res: HttpResponse,
  head: boolean,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
  close: boolean,
): void {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`);
    for (const [name, value] of Object.entries(headers))
      if (!OWN_HEADERS.has(name.toLowerCase())) res.writeHeader(name, value);
    if (head) res.endWithoutBody(Buffer.byteLength(body), close);
    else res.end(body, close);
  });
}

export class UwsHttpExchange implements HttpExchange {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  private aborted = false;
  private answered = false;
  private readonly body: Promise<Buffer | undefined>;

  constructor(
    private readonly res: HttpResponse,
    req: HttpRequest,
  ) {
    ({
      method: this.method,
      url: this.url,
      headers: this.headers,
      remoteAddress: this.remoteAddress,
    } = readHead(res, req));
    this.body = new Promise((resolve) => {
      res.onAborted(() => {
        this.aborted = true;
        resolve(undefined);
      });
      let chunks: Buffer[] = [];
      let size = 0;
      res.onData((chunk, isLast) => {
        size += chunk.byteLength;
        if (size > MAX_HTTP_BODY) {
          chunks = [];
          resolve(undefined);
        } else {
          chunks.push(Buffer.from(chunk.slice(0)));
          if (isLast) resolve(Buffer.concat(chunks));
        }
      });
    });
  }

  async readBody(max: number): Promise<Buffer | undefined> {
    const body = await this.body;
    return body === undefined || body.length > max ? undefined : body;
  }

  get finished(): boolean {
    return this.answered || this.aborted;
  }

  respond(status: number, headers: Readonly<Record<string, string>>, body: string, close = false): void {
    if (this.finished) return;
    this.answered = true;
    answer(this.res, this.method === 'HEAD', status, headers, body, close);
  }
}

export class UwsUpgrade implements UpgradeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string | undefined;
  private aborted = false;
  private answered = false;
  private readonly key: string;
  private readonly protocol: string;
  private readonly extensions: string;

  constructor(
    private readonly res: HttpResponse,
    req: HttpRequest,
    private readonly context: us_socket_context_t,
  ) {
    ({
      method: this.method,
      url: this.url,
      headers: this.headers,
      remoteAddress: this.remoteAddress,
    } = readHead(res, req));
    this.key = req.getHeader('sec-websocket-key');
    this.protocol = req.getHeader('sec-websocket-protocol');
    this.extensions = req.getHeader('sec-websocket-extensions');
    res.onAborted(() => {
      this.aborted = true;
    });
  }

  get finished(): boolean {
    return this.answered || this.aborted;
  }

  accept(open: (socket: ClientSocket) => SocketHandlers): void {
    if (this.finished) return;
    this.answered = true;
    // uWS calls the open handler (uws-server.ts) before upgrade() returns.
    this.res.cork(() =>
      this.res.upgrade({ state: socketState(open) }, this.key, this.protocol, this.extensions, this.context),
    );
  }

  refuse(status: number, headers: Readonly<Record<string, string>>, body: string): void {
    if (this.finished) return;
    this.answered = true;
    answer(this.res, false, status, headers, body, true);
  }
}
