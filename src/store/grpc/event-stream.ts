/**
 * Reading an orly-db server stream (EventBatch messages of QueryEvents and GetSerials, FrameChunk
 * messages of QueryFrames) as an async iterable with backpressure: the stream is paused while
 * READ_AHEAD_BATCHES messages (or the caller's readAhead) wait for the consumer, and resumed when
 * half of them are consumed.
 * Breaking out of the loop or aborting the signal cancels the call.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { EventBatch } from '../../gen/orlydb/v1/db.js';
import type { StoredEvent } from '../event-store.js';
import { toStoredEvent } from './codec.js';
import type { DatabaseConnection } from './connection.js';

/** Server stream batches buffered ahead of the consumer before the stream is paused. */
const READ_AHEAD_BATCHES = 4;

/** Yields the events of a server stream; cancels the call when the consumer stops early. */
export async function* readEvents(
  connection: DatabaseConnection,
  call: ClientReadableStream<EventBatch>,
  method: string,
  signal?: AbortSignal,
): AsyncGenerator<StoredEvent, void, undefined> {
  for await (const batch of readMessages(connection, call, method, signal)) {
    for (const message of batch.events) {
      yield toStoredEvent(message);
      if (signal?.aborted) return;
    }
  }
}

/** Yields the messages of a server stream; cancels the call when the consumer stops early. */
export async function* readMessages<T>(
  connection: DatabaseConnection,
  call: ClientReadableStream<T>,
  method: string,
  signal?: AbortSignal,
  readAhead = READ_AHEAD_BATCHES,
): AsyncGenerator<T, void, undefined> {
  const queue: T[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  let paused = false;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (message: T) => {
    queue.push(message);
    if (queue.length >= readAhead && !paused) {
      paused = true;
      call.pause();
    }
    notify();
  });
  call.on('end', () => {
    ended = true;
    notify();
  });
  call.on('error', (error: unknown) => {
    failure ??= error;
    ended = true;
    notify();
  });
  let finished = false;
  const onAbort = (): void => notify();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal?.aborted) return;
      const message = queue.shift();
      if (message === undefined) {
        if (ended) {
          if (failure !== undefined) {
            connection.noteError(failure);
            throw connection.callError(method, failure);
          }
          finished = true;
          connection.markReachable();
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      if (paused && queue.length < readAhead / 2) {
        paused = false;
        call.resume();
      }
      yield message;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!finished && !ended) call.cancel();
  }
}
