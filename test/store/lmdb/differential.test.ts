/** The differential test (test/store/differential-kit.ts) of the LMDB store, in a temp directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbEventStore } from '../../../src/store/lmdb/lmdb-store.js';
import { registerDifferentialTests } from '../differential-kit.js';

registerDifferentialTests('LMDB store', {
  orderedConcurrentSaves: true,
  denseSerials: true,
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'orly-diff-'));
    let store = LmdbEventStore.open(dir);
    return {
      store,
      async reopen() {
        await store.close();
        store = LmdbEventStore.open(dir);
        return store;
      },
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
