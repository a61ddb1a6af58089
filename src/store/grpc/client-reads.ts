/**
 * GrpcEventStore's reads of the client-facing role: query (QueryEvents, a server stream read
 * with backpressure), count (CountEvents, 10x the unary deadline) and getById (GetEvent).
 */
import type { CountEventsResponse, GetEventResponse } from '../../gen/orlydb/v1/db.js';
import type { NormalizedFilter } from '../../protocol/filter.js';
import type { ClientStore, CountResult, QueryOptions, StoredEvent } from '../event-store.js';
import { filterJson, toStoredEvent } from './codec.js';
import type { DatabaseConnection } from './connection.js';
import { readEvents } from './event-stream.js';

export class GrpcClientReads implements Pick<ClientStore, 'query' | 'count' | 'getById'> {
  constructor(private readonly connection: DatabaseConnection) {}

  async *query(
    filter: NormalizedFilter,
    options?: QueryOptions,
  ): AsyncGenerator<StoredEvent, void, undefined> {
    const connection = this.connection;
    connection.assertOpen();
    if (filter.limit === 0 || options?.signal?.aborted) return;
    const call = connection.client.queryEvents(
      { filterJson: filterJson(filter), now: options?.now ?? 0 },
      connection.callMetadata(),
    );
    yield* readEvents(connection, call, 'query', options?.signal);
  }

  async count(filters: readonly NormalizedFilter[], options?: QueryOptions): Promise<CountResult> {
    const { client, deadlineMs } = this.connection;
    const response = await this.connection.unary<CountEventsResponse>(
      'count',
      (md, opts, cb) =>
        client.countEvents(
          {
            filterJson: filters.map(filterJson),
            now: options?.now ?? 0,
            max: options?.max ?? 0,
            maxScan: options?.maxScan ?? 0,
            excludeKinds: [...(options?.excludeKinds ?? [])],
          },
          md,
          opts,
          cb,
        ),
      deadlineMs * 10,
    );
    return { count: response.count, approximate: response.approximate };
  }

  async getById(id: string): Promise<StoredEvent | undefined> {
    const client = this.connection.client;
    const response = await this.connection.unary<GetEventResponse>('getById', (md, opts, cb) =>
      client.getEvent({ id }, md, opts, cb),
    );
    return response.found && response.event !== undefined ? toStoredEvent(response.event) : undefined;
  }
}
