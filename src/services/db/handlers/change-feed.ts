/**
 * The orly-db handlers of the change-feed role (ChangeFeed, served from the service's EventHub
 * rather than the store): SubscribeEvents, and Broadcast, which fans an ephemeral event out to
 * the other relays' streams with serial 0 (it is never stored), and to the store's own change
 * feed when it has one (other orly-db sharing a PostgreSQL database). A broadcast from an
 * unauthenticated caller must carry a valid signature.
 */
import type { DatabaseServiceServer } from '../../../gen/orlydb/v1/db.js';
import type { ChangeFeed } from '../../../store/event-store.js';
import { InvalidArgumentError, parseEventJson } from '../../../store/grpc/codec.js';
import type { HandlerContext } from './context.js';

export type ChangeFeedHandlers = Pick<DatabaseServiceServer, 'subscribeEvents' | 'broadcast'>;

export function changeFeedHandlers(ctx: HandlerContext, store: Partial<ChangeFeed>): ChangeFeedHandlers {
  const { unary, hub } = ctx;
  return {
    subscribeEvents: (call) => hub.subscribe(call),

    broadcast: unary(async (request) => {
      const parsed = parseEventJson(request.eventJson);
      if (!parsed.ok) throw new InvalidArgumentError(`event_json: ${parsed.reason}`);
      const badSignature = await ctx.signatureProblem(parsed.event);
      if (badSignature !== undefined) throw new InvalidArgumentError(`event_json: ${badSignature}`);
      hub.publish(0, Buffer.from(parsed.raw), request.origin);
      await store.broadcast?.(parsed.event);
      return {};
    }),
  };
}
