/**
 * The orly-db handlers of the sync-source role (SyncSource): GetSerials (a stream of EventBatch
 * messages in serial order), GetLastSerial and NegentropyItems.
 */
import type { DatabaseServiceServer, NegentropyItemsResponse } from '../../../gen/orlydb/v1/db.js';
import type { SyncSource } from '../../../store/event-store.js';
import { encodeNegentropyItems, parseFilterJson } from '../../../store/grpc/codec.js';
import type { HandlerContext } from './context.js';

export type SyncSourceHandlers = Pick<
  DatabaseServiceServer,
  'getSerials' | 'getLastSerial' | 'negentropyItems'
>;

export function syncSourceHandlers(store: SyncSource, ctx: HandlerContext): SyncSourceHandlers {
  const { unary, streamEvents } = ctx;
  return {
    getSerials: (call) => {
      const { after, limit } = call.request;
      void streamEvents(call, () => store.eventsSince(after, limit));
    },

    getLastSerial: unary(async () => ({ serial: await store.lastSerial() })),

    negentropyItems: unary(async (request): Promise<NegentropyItemsResponse> => {
      const filter = parseFilterJson(request.filterJson);
      const items = await store.negentropyItems(filter, request.max);
      if (items === undefined) {
        return { tooMany: true, count: 0, timestamps: Buffer.alloc(0), ids: Buffer.alloc(0) };
      }
      return { tooMany: false, count: items.count, ...encodeNegentropyItems(items) };
    }),
  };
}
