/**
 * GrpcEventStore's frame executor (ClientStore.queryFrames over QueryFrames): orly-db applies the
 * limit and the visibility rules and answers with ready EVENT frames, which the relay forwards
 * without decoding an event (in split mode the relay's REQ path then costs what it costs in
 * local mode with query workers). The stream is read with backpressure; the consumer's return()
 * cancels the call.
 */
import type { FrameChunk as FrameChunkMessage } from '../../gen/orlydb/v1/db.js';
import type { Timeslice } from '../event-store.js';
import type { FrameChunk, FrameQuery } from '../query-frames.js';
import { filterJson } from './codec.js';
import type { DatabaseConnection } from './connection.js';
import { readMessages } from './event-stream.js';

/**
 * Hidden authors a request may carry to orly-db: an access-control mode with a long ban list
 * would otherwise send it with every REQ; beyond this the relay checks the results itself (the
 * executor's in-loop path over QueryEvents).
 */
const MAX_HIDDEN_AUTHORS = 256;

/**
 * Chunks (up to 256 KB each) read ahead of the relay: one, so that a query waiting for its next
 * turn holds little here and its stream backs up to orly-db at once.
 */
const READ_AHEAD = 1;

/**
 * The frames of one filter; undefined once the store is closed (the executor then fails as for
 * a query) or when the request carries too many hidden authors.
 */
export function queryFrames(
  connection: DatabaseConnection,
  request: FrameQuery,
  timeslice?: Timeslice,
): AsyncIterableIterator<FrameChunk> | undefined {
  if (connection.closed || (request.hiddenAuthors?.length ?? 0) > MAX_HIDDEN_AUTHORS) return undefined;
  const call = connection.client.queryFrames(
    {
      filterJson: filterJson(request.filter),
      limit: request.limit,
      now: request.now,
      prefix: Buffer.from(request.prefix),
      checkRestricted: request.checkRestricted,
      restrictedKinds: [...request.restrictedKinds],
      allInvolved: request.allInvolved === true,
      hiddenKinds: [...(request.hiddenKinds ?? [])],
      authed: [...request.authed],
      hiddenAuthors: [...(request.hiddenAuthors ?? [])],
    },
    connection.callMetadata(),
  );
  const messages = readMessages<FrameChunkMessage>(connection, call, 'queryFrames', undefined, READ_AHEAD);
  return chunksOf(messages, timeslice);
}

/**
 * The chunks, taking turns in the caller's timeslice: when its slice is used the query waits for
 * its next turn without reading, so the stream backs up to orly-db (HTTP/2 flow control), whose
 * worker then pauses too, and other REQs (a victim's small one among many huge scans) run.
 */
async function* chunksOf(
  messages: AsyncGenerator<FrameChunkMessage, void, undefined>,
  timeslice: Timeslice | undefined,
): AsyncGenerator<FrameChunk, undefined, undefined> {
  try {
    for await (const message of messages) {
      const ends = Uint32Array.from(message.ends);
      if (!validChunk(message.data, ends, message.ids))
        throw new Error('orly-db sent a malformed frame chunk');
      yield { data: message.data, ends, ids: message.ids };
      if (timeslice?.expired()) await timeslice.pause();
    }
  } finally {
    await messages.return();
  }
}

/** Ends ascending within the data, one 64-character id per frame. */
function validChunk(data: Uint8Array, ends: Uint32Array, ids: string): boolean {
  if (ids.length !== ends.length * 64) return false;
  let previous = 0;
  for (const end of ends) {
    if (end <= previous || end > data.length) return false;
    previous = end;
  }
  return true;
}
