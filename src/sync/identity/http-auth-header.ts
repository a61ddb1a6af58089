/**
 * NIP-98 tokens the relay makes for its own requests to peers (the sync endpoints): a kind-27235
 * event signed by the relay identity with the absolute URL (`u`), the method and, for a body,
 * its sha256 (`payload`), sent as `Authorization: Nostr <base64(event JSON)>`. Each token is
 * made fresh for one request (a token is single use on the receiving side).
 */
import { createHash } from 'node:crypto';
import { signEvent } from '../../crypto/signer.js';
import { KIND_HTTP_AUTH } from '../../protocol/nip98.js';
import type { RelayIdentity } from './relay-identity.js';

export function httpAuthHeader(
  identity: RelayIdentity,
  url: string,
  method: string,
  body?: Uint8Array,
): string {
  const tags = [
    ['u', url],
    ['method', method.toUpperCase()],
  ];
  if (body !== undefined) tags.push(['payload', createHash('sha256').update(body).digest('hex')]);
  const event = signEvent(
    { kind: KIND_HTTP_AUTH, created_at: Math.floor(Date.now() / 1000), tags, content: '' },
    identity.secret,
  );
  return `Nostr ${Buffer.from(JSON.stringify(event), 'utf8').toString('base64')}`;
}
