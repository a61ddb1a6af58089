/** The parsed options of `orly sync` (direct mode and client mode). */
import type { NormalizedFilter } from '../../protocol/filter.js';
import type { Direction } from '../../sync/direction.js';

export interface SyncOptions {
  url: string;
  dataDir: string;
  filter: NormalizedFilter;
  dir: Direction;
  frameSizeLimit: number;
  printMissing: boolean;
  timeoutMs: number;
  /** Client mode: gRPC address of orly-sync-negentropy. */
  server?: string;
}
