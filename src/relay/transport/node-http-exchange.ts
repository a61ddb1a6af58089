/** HttpExchange and RequestHead over node's http server (IncomingMessage, ServerResponse). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpExchange, RequestHead } from './http-exchange.js';

/** What the relay reads of a node request. */
export function nodeRequestHead(req: IncomingMessage): RequestHead {
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
  };
}

/** The request body, or undefined once it passes `max` bytes (the rest is left unread). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class NodeHttpExchange implements HttpExchange {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly remoteAddress: string | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.method = req.method ?? 'GET';
    this.url = req.url ?? '/';
    this.headers = req.headers;
    this.remoteAddress = req.socket.remoteAddress;
  }

  readBody(max: number): Promise<Buffer | undefined> {
    return readBody(this.req, max);
  }

  get finished(): boolean {
    return this.res.headersSent || this.res.destroyed;
  }

  respond(status: number, headers: Readonly<Record<string, string>>, body: string, close = false): void {
    if (this.finished) return;
    const res = this.res;
    res.writeHead(status, {
      ...headers,
      ...(close ? { Connection: 'close' } : {}),
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(this.method === 'HEAD' ? undefined : body, () => {
      // A body left unread: the connection goes with the answer.
      if (close) this.req.socket.destroy();
    });
  }
}
