/**
 * A cluster of three real relay processes (the `orly` CLI, each with its own LMDB directory and
 * identity) on loopback: writes on every member converge; one member is killed (SIGKILL), writes
 * go on at the others and still reach each other; the killed one restarts on its data and
 * catches up with everything written while it was down.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Keys, newKeys, sign } from '../helpers/nostr.js';
import { type RelayProcess, spawnRelay } from '../helpers/relay-process.js';
import { publishTo, type SyncNode, storedOn } from '../helpers/sync-nodes.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../launcher/fake-service.js';

const admin = newKeys();

interface Member extends SyncNode {
  process?: RelayProcess;
}

async function member(): Promise<Member> {
  const port = await freePort();
  return {
    port,
    dir: mkdtempSync(join(tmpdir(), 'orly-cluster-proc-')),
    keys: newKeys(),
    url: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
  };
}

async function start(m: Member): Promise<void> {
  m.process = await spawnRelay({
    ORLY_PORT: String(m.port),
    ORLY_DATA_DIR: m.dir,
    ORLY_RELAY_URL: m.url,
    ORLY_RELAY_SECRET_KEY: Buffer.from(m.keys.sk).toString('hex'),
    ORLY_CLUSTER_ADMINS: admin.pk,
    ORLY_CLUSTER_POLL_INTERVAL: '2s',
    ORLY_VERIFY_WORKERS: '1',
  });
}

async function allHave(
  members: readonly Member[],
  events: readonly { id: string }[],
  reader: Keys,
): Promise<boolean> {
  for (const m of members) for (const e of events) if (!(await storedOn(m, e.id, reader))) return false;
  return true;
}

describe('a cluster of three relay processes', () => {
  let a: Member;
  let b: Member;
  let c: Member;
  const author = newKeys();

  before(async () => {
    [a, b, c] = [await member(), await member(), await member()];
    for (const m of [a, b, c]) await start(m);
    const membership = sign(admin, {
      kind: 39108,
      tags: [['d', 'membership'], ...[a, b, c].map((m) => ['relay', m.http, m.url])],
      content: '',
    });
    for (const m of [a, b, c]) assert.equal(await publishTo(m, membership), 'ok');
  });
  after(async () => {
    for (const m of [a, b, c]) {
      await m?.process?.stop();
      if (m) rmSync(m.dir, { recursive: true, force: true });
    }
  });

  it('writes on every member converge', async () => {
    const written = [a, b, c].map((m, i) => ({ m, e: sign(author, { content: `written on member ${i}` }) }));
    for (const { m, e } of written) assert.equal(await publishTo(m, e), 'ok');
    await waitFor(
      () =>
        allHave(
          [a, b, c],
          written.map((w) => w.e),
          author,
        ),
      20_000,
      'convergence',
      250,
    );
  });

  it('a killed member misses nothing: the others go on, and it catches up when it restarts', async () => {
    assert.equal(await b.process!.stop('SIGKILL'), null);
    const whileDown: { id: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const e = sign(author, { content: `while b is down ${i}` });
      assert.equal(await publishTo(i % 2 === 0 ? a : c, e), 'ok');
      whileDown.push(e);
    }
    await waitFor(() => allHave([a, c], whileDown, author), 20_000, 'a and c converge without b', 250);
    await start(b);
    await waitFor(() => allHave([b], whileDown, author), 30_000, 'b caught up', 250);
  });
});
