/**
 * Plain HTTP on the relay's port, whichever server carries it (transport.ts): what the routes
 * (http-routes.ts and the endpoints it calls) read of a request, and how they answer it. Node's
 * http server and uWebSockets.js both implement it; nothing above the transport sees either.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The bodies the relay reads (NIP-86, replication endpoints) are at most this long. */
export const MAX_HTTP_BODY = 64 * 1024;

/** What the relay reads of a request, an upgrade request included. */
export interface RequestHead {
  /** Upper case, e.g. `GET`. */
  readonly method: string;
  /** The request target as sent: path and query, e.g. `/cluster/events?since=5`. */
  readonly url: string;
  /** Lower-case names; a repeated header as node's http server gives it (most joined with ", "). */
  readonly headers: IncomingHttpHeaders;
  /** The TCP peer's address as text, when known. */
  readonly remoteAddress: string | undefined;
}

export interface HttpExchange extends RequestHead {
  /**
   * The whole body, or undefined once it passes `max` bytes (at most MAX_HTTP_BODY; the rest is
   * not read, so such an answer should close the connection).
   */
  readBody(max: number): Promise<Buffer | undefined>;
  /** True once answered, or once the client went away: a later answer is dropped. */
  readonly finished: boolean;
  /**
   * Sends the whole answer: the status, the headers (Content-Length is added), and the body
   * (none to a HEAD request). `close` ends the connection after it.
   */
  respond(status: number, headers: Readonly<Record<string, string>>, body: string, close?: boolean): void;
}
