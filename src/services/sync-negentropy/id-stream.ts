/**
 * The reconciled ids of a SyncWithPeer with include_ids, streamed as SyncProgress messages of
 * phase "ids": every have id first, then every need id, at most MAX_IDS_PER_MESSAGE in one
 * message (5,000 x 64 hex characters is about 340 KB, far below gRPC's default 4 MiB message
 * limit, however many ids a sync finds). Writes honour the stream's backpressure: when the
 * stream's buffer is full the next message waits for 'drain' (or for cancellation), so a
 * million ids are not serialized into memory all at once.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { SyncProgress, SyncWithPeerRequest } from '../../gen/orlysync/negentropy/v1/negentropy.js';

export const MAX_IDS_PER_MESSAGE = 5000;

export interface IdChunk {
  readonly haveIds: string[];
  readonly needIds: string[];
}

/** Splits have then need into chunks of at most `max` ids in all (none when both are empty). */
export function* idChunks(
  have: readonly string[],
  need: readonly string[],
  max = MAX_IDS_PER_MESSAGE,
): Generator<IdChunk> {
  let h = 0;
  let n = 0;
  while (h < have.length || n < need.length) {
    const haveIds = have.slice(h, h + max);
    h += haveIds.length;
    const needIds = need.slice(n, n + max - haveIds.length);
    n += needIds.length;
    yield { haveIds, needIds };
  }
}

type ProgressStream = ServerWritableStream<SyncWithPeerRequest, SyncProgress>;

/** Writes the id chunks as copies of `base` with their ids; stops early once `signal` aborts. */
export async function writeIds(
  call: ProgressStream,
  base: SyncProgress,
  have: readonly string[],
  need: readonly string[],
  signal: AbortSignal,
): Promise<void> {
  for (const chunk of idChunks(have, need)) {
    if (signal.aborted || call.cancelled) return;
    if (!call.write({ ...base, ...chunk })) await drained(call, signal);
  }
}

function drained(call: ProgressStream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    call.once('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
