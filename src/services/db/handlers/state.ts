/**
 * The orly-db handlers of the state role (StateStore): GetState, PutState and ListState. Their
 * arguments are checked here, at the trust boundary (state-limits.ts): a bad one fails with
 * INVALID_ARGUMENT naming the field ("entries[0].key is empty"). PutState is refused to
 * unauthenticated callers by the server (server.ts). A ListState answer carries at most about
 * LIST_BUDGET_BYTES of entries, read from the store in pages of at most LIST_PAGE: when it stops
 * short of the limit for that reason it says `more`, and the client asks again after its last key.
 */
import type { DatabaseServiceServer, StateEntry } from '../../../gen/orlydb/v1/db.js';
import type { StateStore } from '../../../store/event-store.js';
import { InvalidArgumentError } from '../../../store/grpc/codec.js';
import { stateEntriesProblem, stateKeyProblem, stateListProblem } from '../../../store/state-limits.js';
import type { HandlerContext } from './context.js';

export type StateHandlers = Pick<DatabaseServiceServer, 'getState' | 'putState' | 'listState'>;

/**
 * UTF-8 bytes of keys and values (plus ENTRY_OVERHEAD each) in one ListState answer: with one
 * largest entry beyond it, still below the smallest ORLY_GRPC_MAX_MESSAGE_SIZE (1 MiB).
 */
const LIST_BUDGET_BYTES = 768 * 1024;
/** Protobuf framing of one StateEntry (tags and lengths), rounded up. */
const ENTRY_OVERHEAD = 16;
/** Entries read from the store at a time (at most 256 x 64 KiB in memory). */
const LIST_PAGE = 256;

function check(problem: string | undefined): void {
  if (problem !== undefined) throw new InvalidArgumentError(problem);
}

export function stateHandlers(store: StateStore, ctx: HandlerContext): StateHandlers {
  const { unary } = ctx;
  return {
    getState: unary(async (request) => {
      check(stateKeyProblem(request.key));
      const value = await store.getState(request.key);
      return value === undefined ? {} : { value };
    }),

    putState: unary(async (request) => {
      const entries = request.entries.map((entry) => [entry.key, entry.value] as const);
      check(stateEntriesProblem(entries));
      await store.putState(entries);
      return {};
    }),

    listState: unary(async (request) => {
      const { prefix, limit, after } = request;
      check(stateListProblem(prefix, limit, after));
      const entries: StateEntry[] = [];
      let size = 0;
      let cursor = after;
      while (entries.length < limit) {
        const want = Math.min(LIST_PAGE, limit - entries.length);
        const page = await store.listState(prefix, want, cursor);
        for (const [key, value] of page) {
          const cost = Buffer.byteLength(key) + Buffer.byteLength(value) + ENTRY_OVERHEAD;
          if (entries.length > 0 && size + cost > LIST_BUDGET_BYTES) return { entries, more: true };
          entries.push({ key, value });
          size += cost;
        }
        if (page.length < want) break; // the last key with the prefix
        cursor = page[page.length - 1]![0];
      }
      return { entries, more: false };
    }),
  };
}
