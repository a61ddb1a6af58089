/**
 * What the launcher's end-to-end tests of the sync services share (e2e-sync-*.test.ts): the
 * relay's part of the environment (on free ports, with a token), and the relay's side of a
 * service it forwards to.
 */
import assert from 'node:assert/strict';
import { freePort } from './fake-service.js';

/**
 * orly-db on a free port and the relay on `relayPort` (ORLY_RELAY_URL its ws:// URL), every
 * process with `token`, one signature thread, no query workers, info logs.
 */
export async function syncLauncherEnv(relayPort: number, token: string): Promise<Record<string, string>> {
  return {
    ORLY_LAUNCHER_DB_LISTEN: `127.0.0.1:${await freePort()}`,
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(relayPort),
    ORLY_RELAY_URL: `ws://127.0.0.1:${relayPort}`,
    ORLY_GRPC_TOKEN: token,
    ORLY_VERIFY_WORKERS: '1',
    ORLY_QUERY_WORKERS: '0',
    ORLY_LOG_LEVEL: 'info',
  };
}

/**
 * The relay forwards `url` to its service, which wants NIP-98 (401, WWW-Authenticate: Nostr;
 * a relay without the service has no such path); then the relay's NIP-11 `self`.
 */
export async function forwardedAndSelf(url: string, init: RequestInit = {}): Promise<string | undefined> {
  const res = await fetch(url, init);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Nostr');
  const nip11 = await fetch(new URL(url).origin, { headers: { Accept: 'application/nostr+json' } });
  return ((await nip11.json()) as { self?: string }).self;
}
