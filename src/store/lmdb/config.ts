/**
 * The LMDB store's settings from the environment, read by every process that writes to a store
 * (the relay in local mode, orly-db, `orly import`, `orly sync` in direct mode). An invalid
 * value throws a ConfigError naming the variable.
 *
 *   ORLY_MAX_INDEXED_TAGS   2000   tag index entries per event (distinct single-letter tag
 *                                  values); a save of an event with more is refused (invalid:)
 *   ORLY_LMDB_WRITER_THREAD true   saves run on a writer thread of their own (group commits
 *                                  off the event loop) in the relay and orly-db; false: in
 *                                  the event loop (the CLI's commands always save there)
 */
import { boolVar, type Env, intVar } from '../../config/env.js';
import { DEFAULT_MAX_INDEXED_TAGS } from './index-keys.js';
import type { LmdbStoreOptions } from './lmdb-store.js';

export function loadLmdbStoreConfig(
  env: Env = process.env,
): Required<Pick<LmdbStoreOptions, 'maxIndexedTags' | 'writerThread'>> {
  return {
    maxIndexedTags: intVar(env, 'ORLY_MAX_INDEXED_TAGS', DEFAULT_MAX_INDEXED_TAGS, 1, 1_000_000),
    writerThread: boolVar(env, 'ORLY_LMDB_WRITER_THREAD', true),
  };
}
