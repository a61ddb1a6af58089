/**
 * NIP-77 routed to orly-sync-negentropy: the whole NIP-77 suite in nip77/ (nostr-tools'
 * NegentropySync gets the exact have/need, restricted kinds never leak, NEG-ERR reasons, caps,
 * expiry) re-run with the relay in split mode and ORLY_SYNC_TYPE=grpc + ORLY_GRPC_SYNC_NEGENTROPY
 * pointing at an in-process orly-sync-negentropy over the same orly-db
 * (ORLY_TEST_MODE=split-negentropy); plus fail fast: with the service down, NEG-OPEN gets
 * NEG-ERR "error: ..." at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GrpcNegentropyResponder } from '../../src/negentropy/grpc-responder.js';

process.env.ORLY_TEST_MODE = 'split-negentropy';
const { startTestRelay, RawClient } = await import('../helpers/relay-harness.js');
await import('./nip77/nip77-sync.test.js');
await import('./nip77/nip77-visibility.test.js');
await import('./nip77/nip77-messages.test.js');
await import('./nip77/nip77-limits.test.js');
await import('./nip77/nip77-disabled.test.js');

describe('routing', () => {
  it('a relay with NIP-77 enabled holds the gRPC responder in this mode', async () => {
    const t = await startTestRelay({ ORLY_NEGENTROPY_ENABLED: 'true' });
    try {
      assert.ok(t.relay.negentropy?.responder instanceof GrpcNegentropyResponder);
    } finally {
      await t.stop();
    }
  });
});

describe('NIP-77 routed to an unreachable orly-sync-negentropy', () => {
  let relay: Awaited<ReturnType<typeof startTestRelay>>;

  before(async () => {
    relay = await startTestRelay({
      ORLY_NEGENTROPY_ENABLED: 'true',
      ORLY_SYNC_TYPE: 'grpc',
      ORLY_GRPC_SYNC_NEGENTROPY: '127.0.0.1:1',
      ORLY_GRPC_SYNC_TIMEOUT: '3s',
    });
  });

  after(async () => {
    await relay?.stop();
  });

  it('NEG-OPEN fails fast with NEG-ERR error:; NEG-MSG on it is then unknown', async () => {
    const c = await RawClient.connect(relay.url);
    try {
      const started = Date.now();
      c.send(['NEG-OPEN', 'x', {}, '6100000200']);
      const reply = await c.next((f) => f[0] === 'NEG-ERR' && f[1] === 'x', 3000);
      assert.match(reply[2], /^error: negentropy service unavailable/);
      assert.ok(Date.now() - started < 2500, 'no waiting for the service');
      c.send(['NEG-MSG', 'x', '6100000200']);
      assert.deepEqual(await c.next((f) => f[1] === 'x'), [
        'NEG-ERR',
        'x',
        'closed: unknown subscription handle',
      ]);
    } finally {
      await c.close();
    }
  });
});
