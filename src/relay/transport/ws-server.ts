/**
 * The transport on node's http server and ws (ORLY_WS_TRANSPORT=ws, the default): HTTP requests
 * as NodeHttpExchange, upgrades handed to a noServer WebSocketServer once the relay accepts them,
 * refusals written as raw HTTP answers on the socket before any WebSocket exists.
 */
import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ClientSocket } from './client-socket.js';
import type { RequestHead } from './http-exchange.js';
import { listenHttp } from './listen-http.js';
import { NodeHttpExchange, nodeRequestHead } from './node-http-exchange.js';
import type {
  SocketHandlers,
  TransportHandlers,
  TransportLimits,
  TransportServer,
  UpgradeRequest,
} from './transport.js';
import { WsClientSocket } from './ws-client-socket.js';

/** A complete HTTP answer written on a socket that was never upgraded; the connection ends with it. */
export function rawHttpAnswer(
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${lines.join('')}` +
    `Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Where a WebSocket keeps the relay's handlers of its events (read by the shared listeners below). */
const HANDLERS = Symbol('orly.handlers');
type HandledSocket = WebSocket & { [HANDLERS]: SocketHandlers };

// One set of listener functions for every connection: ws calls them with the WebSocket as `this`.
// (Closures per connection would cost memory each, and would keep the upgrade request alive.)
const handlersOf = (ws: WebSocket): SocketHandlers => (ws as HandledSocket)[HANDLERS];
function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  handlersOf(this).message(data, isBinary);
}
function onPong(this: WebSocket): void {
  handlersOf(this).pong();
}
function onError(this: WebSocket, err: Error): void {
  handlersOf(this).error(err.message);
}
function onClose(this: WebSocket): void {
  handlersOf(this).closed();
}

/** Opens the relay's side of a new WebSocket and routes its events there. */
function attach(ws: WebSocket, open: (socket: ClientSocket) => SocketHandlers): void {
  const handled = ws as HandledSocket;
  handled[HANDLERS] = open(new WsClientSocket(ws));
  ws.on('message', onMessage);
  ws.on('pong', onPong);
  ws.on('error', onError);
  ws.on('close', onClose);
}

class WsUpgrade implements UpgradeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly remoteAddress: string | undefined;
  private answered = false;

  constructor(
    private readonly wss: WebSocketServer,
    private readonly req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
  ) {
    const request: RequestHead = nodeRequestHead(req);
    this.method = request.method;
    this.url = request.url;
    this.headers = request.headers;
    this.remoteAddress = request.remoteAddress;
  }

  get finished(): boolean {
    return this.answered || this.socket.destroyed;
  }

  accept(open: (socket: ClientSocket) => SocketHandlers): void {
    if (this.finished) return;
    this.answered = true;
    // Without verifyClient, ws completes a valid upgrade synchronously: open() runs before accept() returns.
    this.wss.handleUpgrade(this.req, this.socket, this.head, (ws: WebSocket) => attach(ws, open));
  }

  refuse(status: number, headers: Readonly<Record<string, string>>, body: string): void {
    if (this.finished) return;
    this.answered = true;
    this.socket.end(rawHttpAnswer(status, headers, body));
  }
}

export class WsTransport implements TransportServer {
  readonly name = 'ws';
  private readonly http: Server;
  private readonly wss: WebSocketServer;

  constructor(handlers: TransportHandlers, limits: TransportLimits) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.http = createServer((req, res) => handlers.request(new NodeHttpExchange(req, res)));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      handlers.upgrade(new WsUpgrade(this.wss, req, socket, head)),
    );
    this.http.on('connection', (socket) => socket.setNoDelay(true));
  }

  async listen(host: string, port: number): Promise<number> {
    await listenHttp(this.http, host, port);
    return this.port;
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? 0;
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  closeHttpConnections(): void {
    this.http.closeAllConnections();
  }
}
