/**
 * Peer identities from NIP-11 `self` (src/sync/identity/peer-directory.ts) against a real HTTP
 * server on loopback: learned and cached, refused when the document is too large or has no
 * valid `self`, and at most MAX_DIRECTORY_ENTRIES URLs remembered however many are asked about.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MAX_DIRECTORY_ENTRIES, PeerDirectory } from '../../src/sync/identity/peer-directory.js';

const SELF = 'ab'.repeat(32);

describe('PeerDirectory', () => {
  let server: Server;
  let base: string;
  let requests = 0;

  before(async () => {
    server = createServer((req, res) => {
      requests++;
      res.setHeader('Content-Type', 'application/nostr+json');
      if (req.url === '/huge') res.end(JSON.stringify({ self: SELF, pad: 'x'.repeat(100_000) }));
      else if (req.url === '/bad') res.end(JSON.stringify({ self: 'not-a-key' }));
      else res.end(JSON.stringify({ name: 'peer', self: SELF }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('learns a peer from its NIP-11 self, by ws or http URL, and caches it', async () => {
    const directory = new PeerDirectory();
    const before = requests;
    assert.equal(await directory.pubkeyOf(`${base.replace('http', 'ws')}/`), SELF);
    assert.equal(await directory.pubkeyOf(`${base}/`), SELF);
    assert.equal(requests - before, 1, 'the ws and http forms are one peer, fetched once');
  });

  it('refuses oversized documents and invalid identities', async () => {
    const directory = new PeerDirectory();
    assert.equal(await directory.pubkeyOf(`${base}/huge`), undefined);
    assert.equal(await directory.pubkeyOf(`${base}/bad`), undefined);
    assert.equal(await directory.pubkeyOf('ftp://example/'), undefined);
  });

  it(`remembers at most ${MAX_DIRECTORY_ENTRIES} URLs`, async () => {
    const directory = new PeerDirectory();
    for (let i = 0; i <= MAX_DIRECTORY_ENTRIES + 10; i++)
      assert.equal(await directory.pubkeyOf(`${base}/peer-${i}`), SELF);
    assert.equal(directory.size, MAX_DIRECTORY_ENTRIES);
    const before = requests;
    await directory.pubkeyOf(`${base}/peer-0`);
    assert.equal(requests - before, 1, 'the oldest entry was forgotten, so it is fetched again');
    await directory.pubkeyOf(`${base}/peer-${MAX_DIRECTORY_ENTRIES + 10}`);
    assert.equal(requests - before, 1, 'a recent entry is still cached');
  });
});
