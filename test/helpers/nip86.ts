/**
 * A NIP-86 client for the tests: real NIP-98 tokens made by nostr-tools' nip98.getToken (the
 * payload tag is sha256 of exactly the body sent), POSTed over real HTTP.
 */
import { getToken } from 'nostr-tools/nip98';
import { finalizeEvent } from 'nostr-tools/pure';
import type { Keys } from './nostr.js';

export const RPC_TYPE = 'application/nostr+json+rpc';

export interface Nip86Answer {
  readonly status: number;
  readonly body: { result?: unknown; error?: string };
  readonly headers: Headers;
}

export interface Nip86Options {
  /** Path on the relay (default `/`). */
  readonly path?: string;
  /** The `u` the token names (default: the URL posted to). */
  readonly tokenUrl?: string;
  /** A ready Authorization header (default: a fresh token by `keys`); null sends none. */
  readonly authorization?: string | null;
  readonly contentType?: string;
}

/** The Authorization header nostr-tools makes for a POST of `body` to `url`. */
export function nip98Header(keys: Keys, url: string, body: object): Promise<string> {
  return getToken(url, 'POST', (e) => finalizeEvent(e, keys.sk), true, body as Record<string, unknown>);
}

/**
 * A token for one request. nostr-tools makes the same event id for the same URL, method and body
 * within one second, but a fresh signature each time; the relay remembers tokens by signature,
 * so an honest repeated call is not taken for a replay (test/relay/nip86-auth tests replays with
 * the very same header).
 */
function freshToken(keys: Keys, url: string, body: object): Promise<string> {
  return nip98Header(keys, url, body);
}

export async function nip86(
  httpUrl: string,
  keys: Keys,
  method: string,
  params: unknown[] = [],
  options: Nip86Options = {},
): Promise<Nip86Answer> {
  const url = `${httpUrl}${options.path ?? '/'}`;
  const body = { method, params };
  const authorization =
    options.authorization === undefined
      ? await freshToken(keys, options.tokenUrl ?? url, body)
      : options.authorization;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': options.contentType ?? RPC_TYPE,
      Connection: 'close',
      ...(authorization === null ? {} : { Authorization: authorization }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Nip86Answer['body'], headers: res.headers };
}
