/**
 * The NIP-86 relay management API over HTTP: `POST` with `Content-Type:
 * application/nostr+json+rpc` on the relay's own URL (`/`, the NIP's rule) and on `/api/nip86`
 * (ORLY's path). The body `{"method","params"}` is answered `{"result"}` or `{"error"}` (200).
 *
 * Refusals, before any method runs:
 * - 400 body not JSON / not {method: string of 1-64 characters, params?: array}; the ACL mode has
 *   no management API
 * - 413 body over 64 KiB (read no further); 415 another content type
 * - 429 after more than RATE refused (401/403) requests per second from one address, each of
 *   which cost a signature check; an owner's accepted calls are not limited
 * - 401 (`WWW-Authenticate: Nostr`) NIP-98 missing or invalid: kind 27235, signature,
 *   created_at within ±60 s, `method` POST, `payload` = sha256(body) (required by NIP-86), and
 *   `u` = this request's absolute URL on one of the relay's own names (ORLY_RELAY_URL /
 *   ORLY_RELAY_ADDRESSES as http(s); with none configured only a direct local client naming
 *   the local URL), so a token made for another server cannot be replayed here
 * - 403 a valid token from a pubkey that is not an owner or admin
 * - 401 a token already used (remembered for its ±60 s window; only tokens of owners and admins
 *   are remembered, so nobody else can push them out of the bounded memory)
 */
import type { AccessControl } from '../acl/access-control.js';
import type { Logger } from '../logger.js';
import { ReplayGuard, verifyHttpAuth } from '../protocol/nip98.js';
import { addressKey } from './connection-guard.js';
import { KeyedBuckets } from './rate-limit.js';
import { type HttpExchange, MAX_HTTP_BODY, type RequestHead } from './transport/http-exchange.js';

export const MANAGEMENT_PATH = '/api/nip86';
const CONTENT_TYPE = 'application/nostr+json+rpc';
const MAX_BODY = MAX_HTTP_BODY;
/** No NIP-86 method name is longer (orly-acl refuses longer ones too). */
const MAX_METHOD = 64;
const RATE = { perSecond: 2, burst: 20 };

export interface ManagementEndpointDeps {
  readonly access: AccessControl;
  readonly logger: Logger;
  /** The client's address (X-Forwarded-For only from a trusted proxy). */
  clientIp(req: RequestHead): string;
  /** The absolute http(s) URLs this request may name in its `u` tag (empty: none). */
  requestUrls(req: RequestHead): readonly string[];
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export class ManagementEndpoint {
  private readonly replay = new ReplayGuard();
  private readonly buckets = new KeyedBuckets(RATE, 65_536);

  constructor(private readonly deps: ManagementEndpointDeps) {}

  /** Whether this request is for the management API (the caller then hands it to handle()). */
  static wants(req: RequestHead, path: string): boolean {
    return req.method === 'POST' && (path === '/' || path === MANAGEMENT_PATH);
  }

  handle(exchange: HttpExchange, cors: Record<string, string>): void {
    void this.answer(exchange).then(
      (answer) => send(exchange, answer, cors),
      (err: Error) => {
        this.deps.logger.error({ err: err.message }, 'management request failed');
        send(exchange, { status: 500, body: { error: 'internal error' } }, cors);
      },
    );
  }

  private async answer(req: HttpExchange): Promise<Answer> {
    const ip = this.deps.clientIp(req);
    const bucket = this.buckets.bucket(addressKey(ip), Date.now());
    if (!bucket.has(Date.now()))
      return {
        status: 429,
        body: { error: 'rate-limited: too many refused management requests' },
        headers: { 'Retry-After': '1' },
      };
    const answer = await this.authorized(req, ip);
    // Refusals of auth cost the address a token; an operator's own calls are not limited.
    if (answer.status === 401 || answer.status === 403) bucket.take(Date.now());
    return answer;
  }

  private async authorized(req: HttpExchange, ip: string): Promise<Answer> {
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (type !== CONTENT_TYPE)
      return { status: 415, body: { error: `Content-Type must be ${CONTENT_TYPE}` } };
    const body = await req.readBody(MAX_BODY);
    if (body === undefined) return { status: 413, body: { error: `body over ${MAX_BODY} bytes` } };
    const management = this.deps.access.management;
    if (management === undefined)
      return { status: 400, body: { error: `ACL mode ${this.deps.access.mode} has no management API` } };
    const auth = this.authenticate(req, body);
    if (!auth.ok) return unauthorized(auth.reason);
    const level = await this.deps.access.accessLevel(auth.pubkey, ip);
    if (level !== 'owner' && level !== 'admin')
      return { status: 403, body: { error: 'restricted: only the relay owners and admins may manage it' } };
    if (!this.replay.remember(auth.sig, auth.createdAt, Math.floor(Date.now() / 1000)))
      return unauthorized('auth event already used');
    const call = parseCall(body);
    if (typeof call === 'string') return { status: 400, body: { error: call } };
    const outcome = await management.manage(call.method, call.params, auth.pubkey);
    if ('result' in outcome)
      this.deps.logger.info({ method: call.method, by: auth.pubkey }, 'management call');
    return { status: 200, body: outcome };
  }

  private authenticate(req: RequestHead, body: Buffer) {
    const urls = this.deps.requestUrls(req);
    if (urls.length === 0)
      return {
        ok: false as const,
        reason: 'the relay has no public URL (ORLY_RELAY_URL) to check the u tag against',
      };
    let result = verifyHttpAuth({
      authorization: req.headers.authorization,
      method: 'POST',
      url: urls[0]!,
      body,
      requirePayload: true,
    });
    for (let i = 1; i < urls.length && !result.ok && result.reason.startsWith('u tag'); i++)
      result = verifyHttpAuth({
        authorization: req.headers.authorization,
        method: 'POST',
        url: urls[i]!,
        body,
        requirePayload: true,
      });
    return result;
  }
}

function unauthorized(reason: string): Answer {
  return {
    status: 401,
    body: { error: `auth-required: ${reason}` },
    headers: { 'WWW-Authenticate': 'Nostr' },
  };
}

function parseCall(body: Buffer): { method: string; params: readonly unknown[] } | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return 'body is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return 'body must be a JSON object';
  const { method, params } = parsed as { method?: unknown; params?: unknown };
  if (typeof method !== 'string' || method === '' || method.length > MAX_METHOD)
    return `method must be a string of 1-${MAX_METHOD} characters`;
  if (params !== undefined && !Array.isArray(params)) return 'params must be an array';
  return { method: method.toLowerCase(), params: (params as unknown[] | undefined) ?? [] };
}

function send(exchange: HttpExchange, answer: Answer, cors: Record<string, string>): void {
  // A body left unread (413) ends the connection.
  exchange.respond(
    answer.status,
    { ...cors, ...answer.headers, 'Content-Type': 'application/json' },
    JSON.stringify(answer.body),
    answer.status === 413,
  );
}
