/**
 * `orly sync --server` as a child process driving orly-sync-negentropy: a transfer both ways
 * (identical sets afterwards), an unreachable peer and an unreachable service; --print-missing
 * prints exactly the lines direct mode prints, on stdout, and only reconciles.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { ORLY_CLI } from '../../helpers/relay-process.js';
import {
  assertSameIds,
  closedPort,
  idsOf,
  makeEvents,
  runCli,
  saveAll,
  setOf,
  syncServiceForSuite,
} from './service-fixtures.js';

describe('orly-sync-negentropy: orly sync --server', () => {
  const service = syncServiceForSuite();

  it('orly sync --server drives the service (child process)', async () => {
    const { clientSync, db, negRelay, store, svc } = service;
    const common = makeEvents(40, 1005);
    const onlyRemote = makeEvents(70, 1005);
    const onlyLocal = makeEvents(50, 1005);
    const relay = await negRelay([...common, ...onlyRemote]);
    await saveAll(store, [...common, ...onlyLocal]);
    const res = await clientSync(relay.url, '--filter', '{"kinds":[1005]}', '--dir', 'both');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /reconcile: /);
    assert.match(
      res.stderr,
      /sync done: have 50, need 70, downloaded 70, uploaded 50 \(50 accepted \/ 0 rejected\)/,
    );
    const all = setOf([...common, ...onlyRemote, ...onlyLocal]);
    assertSameIds(await idsOf(db.store, 1005), all);
    assertSameIds(await idsOf(relay.relay.store, 1005), all);

    const port = await closedPort();
    const failed = await runCli(ORLY_CLI, ['sync', `ws://127.0.0.1:${port}`, '--server', svc.address]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /cannot connect/);
    const noService = await runCli(ORLY_CLI, [
      'sync',
      relay.url,
      '--server',
      `127.0.0.1:${port}`,
      '--timeout',
      '1',
    ]);
    assert.equal(noService.code, 1);
    assert.match(noService.stderr, /cannot reach orly-sync-negentropy/);
  });

  it('orly sync --server --print-missing prints the lines direct mode prints, on stdout', async () => {
    const { clientSync, db, negRelay, store, tempDir } = service;
    const common = makeEvents(60, 1007);
    const onlyRemote = makeEvents(90, 1007);
    const onlyLocal = makeEvents(70, 1007);
    const relay = await negRelay([...common, ...onlyRemote]);
    await saveAll(store, [...common, ...onlyLocal]);
    // Direct mode over a store holding what the service's store holds (for this kind).
    const dir = tempDir('orly-syncsvc-direct-');
    const local = LmdbEventStore.open(dir);
    await saveAll(local, [...common, ...onlyLocal]);
    await local.close();
    const flags = ['--filter', '{"kinds":[1007]}', '--frame-size-limit', '4096', '--print-missing'];
    const direct = await runCli(ORLY_CLI, ['sync', relay.url, '--data-dir', dir, '--dir', 'none', ...flags]);
    assert.equal(direct.code, 0, direct.stderr);
    const client = await clientSync(relay.url, '--dir', 'none', ...flags);
    assert.equal(client.code, 0, client.stderr);

    // Same lines, same order; only have/need lines on stdout, progress on stderr.
    assert.equal(client.stdout, direct.stdout);
    const lines = client.stdout.split('\n');
    assert.equal(lines.pop(), '');
    for (const line of lines) assert.match(line, /^(have|need),[0-9a-f]{64}$/);
    const have = lines.filter((l) => l.startsWith('have,')).map((l) => l.slice(5));
    const need = lines.filter((l) => l.startsWith('need,')).map((l) => l.slice(5));
    assert.deepEqual(lines, [...have.map((id) => `have,${id}`), ...need.map((id) => `need,${id}`)]);
    assert.equal(lines.length, 160);
    assertSameIds(new Set(have), setOf(onlyLocal));
    assertSameIds(new Set(need), setOf(onlyRemote));
    assert.doesNotMatch(client.stderr, /(have|need),[0-9a-f]{64}/);
    assert.match(client.stderr, /sync done: have 70, need 90, downloaded 0, uploaded 0/);
    // --dir none moved nothing.
    assert.equal((await idsOf(db.store, 1007)).size, 130);

    // As in strfry, --print-missing only reconciles: with another --dir it is a usage error.
    const printAndMove = await clientSync(relay.url, '--dir', 'both', ...flags);
    assert.equal(printAndMove.code, 2, printAndMove.stderr);
    assert.match(printAndMove.stderr, /--print-missing only reconciles/);

    // A transfer both ways, then both sides are equal and a second --print-missing prints nothing.
    const both = await clientSync(
      relay.url,
      '--dir',
      'both',
      ...flags.filter((f) => f !== '--print-missing'),
    );
    assert.equal(both.code, 0, both.stderr);
    assert.equal(both.stdout, '');
    assert.match(both.stderr, /sync done: have 70, need 90, downloaded 90, uploaded 70/);
    const all = setOf([...common, ...onlyRemote, ...onlyLocal]);
    assertSameIds(await idsOf(db.store, 1007), all);
    assertSameIds(await idsOf(relay.relay.store, 1007), all);
    const again = await clientSync(relay.url, '--dir', 'none', ...flags);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '');
  });
});
