/**
 * Which way a sync transfers events, as strfry's `sync --dir` names it, and its gRPC form.
 * down: fetch what the peer has and we lack; up: send what we have and it lacks; both; none:
 * reconcile only (report the differences).
 */
import { SyncDirection } from '../gen/orlysync/negentropy/v1/negentropy.js';

export type Direction = 'down' | 'up' | 'both' | 'none';

export function directionToProto(dir: Direction): SyncDirection {
  return {
    down: SyncDirection.SYNC_DIRECTION_DOWN,
    up: SyncDirection.SYNC_DIRECTION_UP,
    both: SyncDirection.SYNC_DIRECTION_BOTH,
    none: SyncDirection.SYNC_DIRECTION_NONE,
  }[dir];
}

/** Unspecified means down (ORLY's default). */
export function directionFromProto(dir: SyncDirection): Direction {
  switch (dir) {
    case SyncDirection.SYNC_DIRECTION_UNSPECIFIED:
    case SyncDirection.SYNC_DIRECTION_DOWN:
      return 'down';
    case SyncDirection.SYNC_DIRECTION_UP:
      return 'up';
    case SyncDirection.SYNC_DIRECTION_BOTH:
      return 'both';
    case SyncDirection.SYNC_DIRECTION_NONE:
      return 'none';
    default:
      throw new Error(`unknown direction ${dir}`);
  }
}
