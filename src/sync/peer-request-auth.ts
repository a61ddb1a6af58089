/**
 * Who may call a sync endpoint (/api/sync/*, /cluster/*): a NIP-98 token (kind 27235, the exact
 * URL on one of this relay's names, the method, the body's sha256 when it has one, fresh, not
 * replayed) signed by one of the identities the operator named (peers, cluster members).
 * No token or a bad one: 401 with `WWW-Authenticate: Nostr`; a valid token from anyone else: 403.
 * A relay without a public URL (no `requestUrls`) cannot check any token's `u`: 401, saying so.
 */
import { type ReplayGuard, verifyHttpAuth } from '../protocol/nip98.js';
import { errorResponse, type SyncHttpRequest, type SyncHttpResponse } from './replication.js';

export type PeerAuthResult =
  | { readonly ok: true; readonly pubkey: string }
  | { readonly ok: false; readonly response: SyncHttpResponse };

export async function authenticatePeerRequest(
  request: SyncHttpRequest,
  authorized: () => Promise<ReadonlySet<string>>,
  replay: ReplayGuard,
): Promise<PeerAuthResult> {
  const authorization = request.headers.authorization;
  let reason =
    request.requestUrls.length === 0
      ? 'NIP-98 cannot be checked: this relay has no public URL (ORLY_RELAY_URL)'
      : 'NIP-98 authentication required';
  for (const url of request.requestUrls) {
    const result = verifyHttpAuth({
      authorization,
      method: request.method,
      url,
      ...(request.body.length > 0 ? { body: request.body } : {}),
      requirePayload: false,
    });
    if (!result.ok) {
      reason = result.reason;
      continue;
    }
    if (!(await authorized()).has(result.pubkey))
      return { ok: false, response: errorResponse(403, 'Unauthorized peer') };
    if (!replay.remember(result.sig, result.createdAt, Math.floor(Date.now() / 1000)))
      return {
        ok: false,
        response: errorResponse(401, 'this token was already used', { 'WWW-Authenticate': 'Nostr' }),
      };
    return { ok: true, pubkey: result.pubkey };
  }
  return { ok: false, response: errorResponse(401, reason, { 'WWW-Authenticate': 'Nostr' }) };
}
