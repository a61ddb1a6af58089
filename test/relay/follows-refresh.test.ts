/**
 * Follows mode's periodic refresh from ORLY_BOOTSTRAP_RELAYS, with local relays only: a second
 * real relay serves the admin's kind 3; the followed account may then publish on the first
 * relay; a newer kind 3 without it on the bootstrap relay unfollows it at the next refresh. A
 * raw WebSocket server serving a forged "newer" kind 3 (bad signature) next to a genuine older
 * one: the forged one is neither stored nor applied, the genuine one is. In split mode
 * (ORLY_TEST_MODE=split) the refresh runs in orly-acl and stores through orly-db.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import type { NostrEvent } from '../../src/protocol/event.js';
import { type Keys, newKeys, nowSec, sign } from '../helpers/nostr.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

/** Does `keys` get OK true for a fresh note on `client`? */
async function canPublish(client: RawClient, keys: Keys): Promise<boolean> {
  const ok = await client.publish(sign(keys, { content: `probe ${Math.random()}`, created_at: nowSec() }));
  return ok[2] === true;
}

function contacts(keys: Keys, follows: Keys[], createdAt: number): NostrEvent {
  return sign(keys, { kind: 3, tags: follows.map((k) => ['p', k.pk]), created_at: createdAt });
}

describe('follows refresh from a bootstrap relay', () => {
  const admin = newKeys();
  const followed = newKeys();
  const later = newKeys();
  let bootstrap: TestRelay;
  let relay: TestRelay;
  let toBootstrap: RawClient;
  let client: RawClient;

  before(async () => {
    bootstrap = await startTestRelay();
    toBootstrap = await RawClient.connect(bootstrap.url);
    const ok = await toBootstrap.publish(contacts(admin, [followed], nowSec() - 100));
    assert.equal(ok[2], true, String(ok[3]));
    relay = await startTestRelay({
      ORLY_ACL_MODE: 'follows',
      ORLY_ADMINS: admin.pk,
      ORLY_BOOTSTRAP_RELAYS: bootstrap.url,
      ORLY_FOLLOW_LIST_FREQUENCY: '300ms',
    });
    client = await RawClient.connect(relay.url);
  });

  after(async () => {
    await client?.close();
    await toBootstrap?.close();
    await relay?.stop();
    await bootstrap?.stop();
  });

  test("the admin's follow list is fetched and applied; a newer one without the account unfollows it", async () => {
    await waitFor(() => canPublish(client, followed), 10_000, 'the followed account to be allowed');
    const stored = await client.query('lists', { kinds: [3], authors: [admin.pk] });
    assert.equal(stored.length, 1, 'the fetched kind 3 is stored on this relay');

    const ok = await toBootstrap.publish(contacts(admin, [later], nowSec()));
    assert.equal(ok[2], true, String(ok[3]));
    await waitFor(() => canPublish(client, later), 10_000, 'the newly followed account to be allowed');
    assert.equal(await canPublish(client, followed), false, 'unfollowed: refused again');
  });
});

describe('follows refresh: a forged list is not stored', () => {
  const admin = newKeys();
  const genuineFollow = newKeys();
  const forgedFollow = newKeys();
  const other = newKeys();
  let server: WebSocketServer;
  let relay: TestRelay;
  let client: RawClient;
  let requests = 0;
  const genuine = contacts(admin, [genuineFollow], nowSec() - 100);
  // A newer list with a correct id but the signature of another event: it must not shadow the genuine one.
  const forgedBody = contacts(admin, [forgedFollow], nowSec());
  const forged = { ...forgedBody, sig: sign(other).sig };

  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (ws) => {
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as unknown[];
        if (frame[0] !== 'REQ') return;
        requests++;
        const sub = frame[1];
        ws.send(JSON.stringify(['EVENT', sub, forged]));
        ws.send(JSON.stringify(['EVENT', sub, genuine]));
        ws.send(JSON.stringify(['EOSE', sub]));
      });
    });
    await new Promise((resolve) => server.once('listening', resolve));
    const port = (server.address() as AddressInfo).port;
    relay = await startTestRelay({
      ORLY_ACL_MODE: 'follows',
      ORLY_ADMINS: admin.pk,
      ORLY_BOOTSTRAP_RELAYS: `ws://127.0.0.1:${port}`,
      ORLY_FOLLOW_LIST_FREQUENCY: '300ms',
    });
    client = await RawClient.connect(relay.url);
  });

  after(async () => {
    await client?.close();
    await relay?.stop();
    for (const ws of server?.clients ?? []) ws.terminate();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('the genuine older list is applied, the forged newer one is dropped', async () => {
    await waitFor(() => canPublish(client, genuineFollow), 10_000, 'the genuine list to be applied');
    assert.ok(requests >= 1);
    assert.equal(await canPublish(client, forgedFollow), false, 'the forged list gave nothing');
    const stored = await client.query('lists', { kinds: [3], authors: [admin.pk] });
    assert.deepEqual(
      stored.map((ev) => ev.id),
      [genuine.id],
      'only the genuine kind 3 is stored',
    );
  });
});
