/**
 * QueryFrames: one REQ filter answered as ready EVENT frames, the relay's visibility rules
 * applied here (src/store/frame-visibility.ts), so that the relay forwards bytes without
 * decoding an event. A store with a frame executor (LMDB with query workers) builds them beside
 * this service's event loop; any other store's query() results are framed here. Chunks are
 * written with backpressure; a cancelled call stops the query.
 */
import type { handleServerStreamingCall } from '@grpc/grpc-js';
import type { DatabaseServiceServer, FrameChunk, QueryFramesRequest } from '../../../gen/orlydb/v1/db.js';
import { nowSeconds } from '../../../protocol/event.js';
import type { NormalizedFilter } from '../../../protocol/filter.js';
import type { ClientStore } from '../../../store/event-store.js';
import { FrameChunkBuilder } from '../../../store/frame-chunks.js';
import { FrameVisibility } from '../../../store/frame-visibility.js';
import { InvalidArgumentError, parseFilterJson, storedBytes } from '../../../store/grpc/codec.js';
import type { FrameChunk as Chunk, FrameQuery } from '../../../store/query-frames.js';
import { type HandlerContext, send } from './context.js';

/** Chunk size of frames built here (the LMDB workers use their own). */
const CHUNK_BYTES = 128 * 1024;
/** The largest `limit` a request may ask (a filter's limit is clamped by the relay long before). */
const MAX_LIMIT = 1_000_000;

export function queryFramesHandlers(
  store: ClientStore,
  ctx: HandlerContext,
): Pick<DatabaseServiceServer, 'queryFrames'> {
  const queryFrames: handleServerStreamingCall<QueryFramesRequest, FrameChunk> = (call) => {
    let request: FrameQuery;
    try {
      request = frameQuery(call.request);
    } catch (error) {
      call.emit('error', ctx.toStatus(error));
      return;
    }
    const abort = new AbortController();
    const onCancel = () => abort.abort();
    call.on('cancelled', onCancel);
    const chunks = store.queryFrames?.(request) ?? framesFromQuery(store, request, abort.signal);
    void (async () => {
      try {
        for await (const chunk of chunks) {
          if (abort.signal.aborted) break;
          // Encoded by frame-chunk-codec.ts, which takes the Uint32Array as it is.
          if (!(await send(call, chunk as unknown as FrameChunk))) break;
        }
        if (!abort.signal.aborted) call.end();
      } catch (error) {
        if (!abort.signal.aborted) call.emit('error', ctx.toStatus(error));
      } finally {
        call.off('cancelled', onCancel);
        // Stops a worker's query (or the store iteration) still running for a client that left.
        await chunks.return?.();
      }
    })();
  };
  return { queryFrames };
}

function frameQuery(message: QueryFramesRequest): FrameQuery {
  const filter: NormalizedFilter = parseFilterJson(message.filterJson);
  if (!(message.limit >= 0 && message.limit <= MAX_LIMIT))
    throw new InvalidArgumentError(`limit: must be from 0 to ${MAX_LIMIT}`);
  return {
    filter,
    limit: message.limit,
    now: message.now > 0 ? message.now : nowSeconds(),
    prefix: message.prefix,
    checkRestricted: message.checkRestricted,
    restrictedKinds: message.restrictedKinds,
    authed: message.authed,
    ...(message.allInvolved ? { allInvolved: true } : {}),
    ...(message.hiddenKinds.length > 0 ? { hiddenKinds: message.hiddenKinds } : {}),
    ...(message.hiddenAuthors.length > 0 ? { hiddenAuthors: message.hiddenAuthors } : {}),
  };
}

/** Frames built in this event loop from the store's query(), for stores without a frame executor. */
async function* framesFromQuery(
  store: ClientStore,
  request: FrameQuery,
  signal: AbortSignal,
): AsyncGenerator<Chunk, undefined, undefined> {
  if (request.limit <= 0) return;
  const visibility = new FrameVisibility(request);
  const builder = new FrameChunkBuilder(CHUNK_BYTES);
  let count = 0;
  for await (const stored of store.query(request.filter, { signal, now: request.now })) {
    const json = storedBytes(stored);
    const id = visibility.admit(json, stored.kind);
    if (id === undefined) continue;
    const full = builder.add(request.prefix, json, id);
    if (full !== undefined) yield full;
    if (++count >= request.limit) break;
  }
  const rest = builder.take();
  if (rest !== undefined) yield rest;
}
