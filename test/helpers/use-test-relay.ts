/**
 * A relay for the tests of the calling context (a file when called at its top level, a suite
 * when called in a describe): started in before(), stopped in after() once `clients` are
 * closed. The returned TestRelay forwards to the running relay, so tests use it as is.
 */
import { after, before } from 'node:test';
import type { Clients } from './nostr.js';
import { startTestRelay, type TestRelay } from './relay-harness.js';

export function useTestRelay(clients: Clients, env: Record<string, string> = {}): TestRelay {
  let started: TestRelay | undefined;
  before(async () => {
    started = await startTestRelay(env);
  });
  after(async () => {
    await clients.closeAll();
    await started?.stop();
  });
  const relay = (): TestRelay => {
    if (started === undefined) throw new Error('the relay starts in before()');
    return started;
  };
  return {
    get relay() {
      return relay().relay;
    },
    get url() {
      return relay().url;
    },
    get httpUrl() {
      return relay().httpUrl;
    },
    get port() {
      return relay().port;
    },
    get dataDir() {
      return relay().dataDir;
    },
    stop: () => relay().stop(),
  };
}
