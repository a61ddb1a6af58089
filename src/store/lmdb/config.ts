/**
 * The LMDB store's settings from the environment, read by every process that writes to a store
 * (the relay in local mode, orly-db, `orly import`, `orly sync` in direct mode). An invalid
 * value throws a ConfigError naming the variable.
 *
 *   ORLY_MAX_INDEXED_TAGS   2000   tag index entries per event (distinct single-letter tag
 *                                  values); a save of an event with more is refused (invalid:)
 */
import { type Env, intVar } from '../../config/env.js';
import { DEFAULT_MAX_INDEXED_TAGS } from './index-keys.js';
import type { LmdbStoreOptions } from './lmdb-store.js';

export function loadLmdbStoreConfig(env: Env = process.env): Pick<LmdbStoreOptions, 'maxIndexedTags'> {
  return { maxIndexedTags: intVar(env, 'ORLY_MAX_INDEXED_TAGS', DEFAULT_MAX_INDEXED_TAGS, 1, 1_000_000) };
}
