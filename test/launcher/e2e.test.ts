/**
 * End to end: the real `orly-launcher` starting the real orly-db, orly-acl (follows) and orly
 * relay on free ports. An EVENT published over WebSocket is stored through orly-db (seen on
 * orly-db's change feed, so it did not go to a private store), the follows ACL admits what the
 * admin follows and blocks the rest, and SIGTERM makes the launcher exit 0 with every child gone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredEvent } from '../../src/store/event-store.js';
import { GrpcEventStore } from '../../src/store/grpc/grpc-event-store.js';
import { newKey, signedEvent } from '../helpers/events.js';
import { RawClient } from '../helpers/relay-harness.js';
import { freePort, waitFor } from './fake-service.js';
import { assertCleanStop, launcherForFile, startedPids } from './launcher-process.js';

const TOKEN = 'e2e-launcher-token-0123456789abcdef';
const launcher = launcherForFile('orly-launcher-e2e-');

test('launcher + orly-db + orly-acl (follows) + orly: publish, ACL, SIGTERM', {
  timeout: 90_000,
}, async () => {
  const admin = newKey();
  const alice = newKey();
  const carol = newKey();
  const dbListen = `127.0.0.1:${await freePort()}`;
  const aclListen = `127.0.0.1:${await freePort()}`;
  const relayPort = await freePort();
  const now = Math.floor(Date.now() / 1000);

  const running = await launcher.start({
    ORLY_LAUNCHER_DB_LISTEN: dbListen,
    ORLY_LAUNCHER_ACL_ENABLED: 'true',
    ORLY_LAUNCHER_ACL_LISTEN: aclListen,
    ORLY_ACL_MODE: 'follows',
    ORLY_ADMINS: admin.pubkey,
    ORLY_LISTEN: '127.0.0.1',
    ORLY_PORT: String(relayPort),
    ORLY_GRPC_TOKEN: TOKEN,
    ORLY_VERIFY_WORKERS: '1',
    ORLY_LOG_LEVEL: 'info',
  });
  const pids = startedPids(running);
  assert.deepEqual(Object.keys(pids).sort(), ['orly', 'orly-acl', 'orly-db']);

  const db = await GrpcEventStore.connect(dbListen, { security: { token: TOKEN } });
  const fed: StoredEvent[] = [];
  const unwatch = db.watch((e) => fed.push(e));
  const client = await RawClient.connect(`ws://127.0.0.1:${relayPort}`);
  try {
    // The admin may always write; their kind 3 makes alice a writer.
    const contacts = signedEvent(admin, { kind: 3, created_at: now, tags: [['p', alice.pubkey]] });
    assert.deepEqual((await client.publish(contacts)).slice(2), [true, '']);

    const blocked = signedEvent(carol, { created_at: now, content: 'not followed' });
    const rejection = await client.publish(blocked);
    assert.equal(rejection[2], false);
    assert.match(String(rejection[3]), /^blocked: /);

    // orly-acl learns the kind 3 through orly-db's change feed: retry briefly.
    let accepted: unknown[] = [];
    const deadline = Date.now() + 10_000;
    let note = signedEvent(alice, { created_at: now, content: 'hello from alice' });
    for (let i = 0; ; i++) {
      accepted = await client.publish(note);
      if (accepted[2] === true || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
      note = signedEvent(alice, { created_at: now, content: `hello from alice ${i}` });
    }
    assert.deepEqual(accepted.slice(2), [true, ''], 'a followed author may write');

    const found = await client.query('q', { ids: [note.id] });
    assert.equal(found.length, 1);
    // Stored through orly-db: on its change feed, and readable from it.
    await waitFor(() => fed.some((e) => e.event.id === note.id), 5000, 'the change feed');
    assert.equal((await db.getById(note.id))?.event.content, note.content);
    assert.equal(await db.getById(blocked.id), undefined);
  } finally {
    await client.close();
    unwatch();
    await db.close();
  }

  // Reverse order: the relay stopped first, orly-db last.
  await assertCleanStop(running, pids, ['orly', 'orly-acl', 'orly-db']);
});
