/**
 * The adapter from RelayGroupSync to orlysync.relaygroup.v1.RelayGroupService: every RPC answered
 * from the running RelayGroupSync over the service's store.
 *
 * - FindAuthoritativeConfig / GetRelays: the configuration in force (read at start, re-read on
 *   every admin 39105 or deletion in orly-db's change feed, and periodically).
 * - IsAuthorizedPublisher: a pubkey that is not 64 hex characters is INVALID_ARGUMENT (uppercase
 *   hex is accepted and compared lowercased).
 * - ValidateRelayGroupEvent: relay-group-event.ts (shape, id, kind, admin, content, signature);
 *   event_json that is not an event is INVALID_ARGUMENT.
 * - HandleRelayGroupEvent: the same validation; a valid one makes the service read the
 *   configuration in force again and answer whether this event is it.
 * Unexpected failures are gRPC errors: UNAVAILABLE when orly-db is unreachable, else INTERNAL
 * (../shared/sync-rpc.ts).
 */
import type {
  HandleEventRequest,
  HandleEventResponse,
  RelayGroupConfigResponse,
  RelayGroupServiceServer,
  ValidateEventRequest,
  ValidateEventResponse,
} from '../../gen/orlysync/relaygroup/v1/relaygroup.js';
import type { Logger } from '../../logger.js';
import { checkRelayGroupEventJson } from '../../sync/relaygroup/relay-group-event.js';
import type { RelayGroupSync } from '../../sync/relaygroup/relay-group-sync.js';
import { syncUnary } from '../shared/sync-rpc.js';

/** The caller's mistake: answered INVALID_ARGUMENT, not logged. */
class InvalidArgumentError extends Error {}

function checked(sync: RelayGroupSync, json: string) {
  const check = checkRelayGroupEventJson(json, sync.authorizedPublishers);
  if ('malformed' in check) throw new InvalidArgumentError(check.malformed);
  return check;
}

export function relayGroupService(
  sync: RelayGroupSync,
  isReady: () => boolean,
  logger: Logger,
): RelayGroupServiceServer {
  const unary = syncUnary(logger, (err) => err instanceof InvalidArgumentError);
  return {
    ready: (_call, callback) => callback(null, { ready: isReady() }),
    findAuthoritativeConfig: unary('FindAuthoritativeConfig', async () => {
      const config = await sync.authoritative();
      const answer: RelayGroupConfigResponse =
        config === undefined
          ? { config: undefined, found: false, sourceEventId: '', sourceTimestamp: 0 }
          : {
              config: { relays: [...config.relays] },
              found: true,
              sourceEventId: config.sourceEventId,
              sourceTimestamp: config.sourceTimestamp,
            };
      return answer;
    }),
    getRelays: unary('GetRelays', async () => ({
      relays: [...((await sync.authoritative())?.relays ?? [])],
    })),
    isAuthorizedPublisher: unary('IsAuthorizedPublisher', async (req: { pubkey: string }) => {
      if (!/^[0-9a-fA-F]{64}$/.test(req.pubkey))
        throw new InvalidArgumentError('pubkey must be 64 hex characters');
      return { authorized: sync.authorizedPublishers.has(req.pubkey.toLowerCase()) };
    }),
    getAuthorizedPubkeys: unary('GetAuthorizedPubkeys', async () => ({
      pubkeys: [...sync.authorizedPublishers],
    })),
    validateRelayGroupEvent: unary(
      'ValidateRelayGroupEvent',
      async (req: ValidateEventRequest): Promise<ValidateEventResponse> => {
        const { validation } = checked(sync, req.eventJson);
        return validation.valid
          ? { valid: true, error: '', relays: validation.relays }
          : { valid: false, error: validation.error, relays: [] };
      },
    ),
    handleRelayGroupEvent: unary(
      'HandleRelayGroupEvent',
      async (req: HandleEventRequest): Promise<HandleEventResponse> => {
        const { event, validation } = checked(sync, req.eventJson);
        if (!validation.valid) return { accepted: false, authoritative: false, error: validation.error };
        await sync.refresh();
        const current = await sync.authoritative();
        return { accepted: true, authoritative: current?.sourceEventId === event.id, error: '' };
      },
    ),
  };
}
