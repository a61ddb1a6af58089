/** The sync part of an orly-sync-negentropy config for tests: no peers, no background loop. */
import type { SyncServiceConfig } from '../../src/sync/negentropy-sync-service.js';

export function testSyncConfig(overrides: Partial<SyncServiceConfig> = {}): SyncServiceConfig {
  return {
    peers: [],
    intervalMs: 60_000,
    frameSizeLimit: 60_000,
    filter: {},
    dir: 'down',
    timeoutMs: 10_000,
    autoStart: false,
    ...overrides,
  };
}
