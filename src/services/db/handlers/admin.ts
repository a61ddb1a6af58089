/**
 * The orly-db handlers of the administration role (StoreAdmin): Ready (the store is open and
 * the service is not closing), DeleteEvent, PurgeExpired (now = 0: the server's clock) and Stats.
 */
import type { DatabaseServiceServer } from '../../../gen/orlydb/v1/db.js';
import { nowSeconds } from '../../../protocol/event.js';
import type { StoreAdmin } from '../../../store/event-store.js';
import type { HandlerContext } from './context.js';

export type AdminHandlers = Pick<DatabaseServiceServer, 'ready' | 'deleteEvent' | 'purgeExpired' | 'stats'>;

export function adminHandlers(store: StoreAdmin, ctx: HandlerContext): AdminHandlers {
  const { unary } = ctx;
  return {
    ready: unary(async () => ({ ready: store.isOpen() && !ctx.isClosing() })),

    deleteEvent: unary(async (request) => ({ deleted: await store.deleteByIds(request.ids) })),

    purgeExpired: unary(async (request) => ({
      purged: await store.purgeExpired(request.now > 0 ? request.now : nowSeconds()),
    })),

    stats: unary(async () => {
      const stats = await store.stats();
      return { events: stats.events, bytes: stats.bytes, lastSerial: stats.lastSerial };
    }),
  };
}
