/**
 * The transport on uWebSockets.js (ORLY_WS_TRANSPORT=uws): one uWS App serving WebSocket
 * upgrades on every path (the relay refuses all but `/`) and plain HTTP on every other request.
 * Limits: a message over the relay's largest readable one closes the socket with 1009, as ws does
 * (see OVERSIZE_READ); maxBackpressure is ORLY_MAX_OUTBOUND_BUFFER (the relay closes a socket
 * with more queued; uws-client-socket.ts). Liveness stays the relay's own (a ping every 30 s, a
 * socket without a pong is cut); uWS's idle timeout (120 s without any frame, pongs included)
 * only backs it up, and bounds how long a closing socket may linger.
 */
import type { TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { TransportHandlers, TransportLimits, TransportServer } from './transport.js';
import { UwsClientSocket } from './uws-client-socket.js';
import { UwsHttpExchange, UwsUpgrade } from './uws-http-exchange.js';
import { UwsInbox } from './uws-inbox.js';
import type { Uws } from './uws-native.js';
import type { UwsUserData } from './uws-socket-state.js';

const IDLE_TIMEOUT_SECONDS = 120;
/**
 * uWS cuts a socket whose message passes its maxPayloadLength without a close frame (the client
 * sees 1006); ws sends 1009. So uWS reads messages up to this many times the relay's limit, and
 * one over the limit is closed here with 1009 and ws's reason; only beyond that does uWS cut it.
 */
const OVERSIZE_READ = 2;
const TOO_BIG = 'Max payload size exceeded';
/** A socket may have this many largest messages' worth waiting for a turn (uws-inbox.ts). */
const WAITING_MESSAGES = 4;

export class UwsTransport implements TransportServer {
  readonly name: string;
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  private boundPort = 0;
  private readonly inbox: UwsInbox;

  constructor(
    private readonly uws: Uws,
    binary: string,
    handlers: TransportHandlers,
    limits: TransportLimits,
  ) {
    this.name = `uws (${binary.split('/').pop()})`;
    this.inbox = new UwsInbox(limits.maxPayload * WAITING_MESSAGES);
    this.app = uws
      .App()
      .ws<UwsUserData>('/*', {
        compression: uws.DISABLED,
        maxPayloadLength: limits.maxPayload * OVERSIZE_READ,
        maxBackpressure: limits.maxOutboundBuffer,
        idleTimeout: IDLE_TIMEOUT_SECONDS,
        sendPingsAutomatically: false,
        upgrade: (res, req, context) => handlers.upgrade(new UwsUpgrade(res, req, context)),
        open: (ws) => {
          const data = ws.getUserData().state;
          const socket = new UwsClientSocket(ws);
          data.socket = socket;
          data.handlers = data.open?.(socket);
          data.open = undefined;
        },
        message: (ws, message, isBinary) => {
          const data = ws.getUserData().state;
          if (message.byteLength > limits.maxPayload) data.socket?.close(1009, TOO_BIG);
          else this.inbox.deliver(data, message, isBinary);
        },
        pong: (ws) => ws.getUserData().state.handlers?.pong(),
        drain: (ws) => ws.getUserData().state.socket?.drained(),
        close: (ws) => {
          const data = ws.getUserData().state;
          data.socket?.markGone();
          this.inbox.flush(data);
          const handlers = data.handlers;
          // uWS closes synchronously inside end()/close(); the relay hears of it once that call is done.
          if (handlers !== undefined) process.nextTick(() => handlers.closed());
        },
      })
      .any('/*', (res, req) => handlers.request(new UwsHttpExchange(res, req)));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (listenSocket) => {
        if (listenSocket === false) {
          reject(new Error(`uWebSockets.js could not listen on ${host}:${port}`));
          return;
        }
        this.listenSocket = listenSocket;
        this.boundPort = this.uws.us_socket_local_port(listenSocket);
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  async close(): Promise<void> {
    if (this.listenSocket === undefined) return;
    this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  closeHttpConnections(): void {
    // Newer uWS builds close every socket of the app (keep-alive HTTP ones included) with close().
    (this.app as TemplatedApp & { close?: () => void }).close?.();
  }
}
