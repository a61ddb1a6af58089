/**
 * The relay's network edge, one interface over the WebSocket libraries it can run on
 * (ORLY_WS_TRANSPORT: ws-server.ts on node's http server and ws, or uws-server.ts on
 * uWebSockets.js): one port serving plain HTTP and WebSocket upgrades. The relay (relay.ts)
 * decides; the transport carries: requests go to `request`, upgrade requests to `upgrade`,
 * which answers each one, at once or later (an access check may be asynchronous), by accepting
 * it or refusing it with an HTTP status.
 */
import type { ClientSocket } from './client-socket.js';
import type { HttpExchange, RequestHead } from './http-exchange.js';

/** What the relay does with an accepted socket's events. */
export interface SocketHandlers {
  /** One complete message; `data` is only valid during the call (copy what is kept). */
  message(data: Buffer, isBinary: boolean): void;
  pong(): void;
  /** A protocol or socket error (logged; the socket closes after it, and closed() follows). */
  error(message: string): void;
  /** The socket is gone (closed by either side or cut); called once, never from inside a send. */
  closed(): void;
}

/** An upgrade request, to be answered once. */
export interface UpgradeRequest extends RequestHead {
  /** True once answered, or once the client went away (then answering does nothing). */
  readonly finished: boolean;
  /**
   * Completes the handshake; `open` is called with the socket before accept() returns, and gives
   * the handlers of its events.
   */
  accept(open: (socket: ClientSocket) => SocketHandlers): void;
  /** Refuses with an HTTP answer (Content-Length and Connection: close are added). */
  refuse(status: number, headers: Readonly<Record<string, string>>, body: string): void;
}

export interface TransportHandlers {
  request(exchange: HttpExchange): void;
  upgrade(request: UpgradeRequest): void;
}

/** The limits the transport enforces itself. */
export interface TransportLimits {
  /** The largest incoming message read; a larger one closes the socket (1009). */
  readonly maxPayload: number;
  /** ORLY_MAX_OUTBOUND_BUFFER: the relay closes a socket with more queued (transports may drop beyond it). */
  readonly maxOutboundBuffer: number;
}

export interface TransportServer {
  /** Which library carries it, for the start-up log (e.g. `ws`, or the uWebSockets.js binary). */
  readonly name: string;
  /** Listens; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** The bound port (0 before listen). */
  readonly port: number;
  /** Stops accepting connections; resolves once every HTTP connection has ended. */
  close(): Promise<void>;
  /** Ends the HTTP connections that are left (keep-alive ones included). */
  closeHttpConnections(): void;
}
