/**
 * GrpcEventStore's sync-source role: eventsSince (GetSerials, a server stream read with
 * backpressure), lastSerial (GetLastSerial) and negentropyItems (NegentropyItems, 10x the
 * unary deadline). The change feed's replay after an outage reads through it too.
 */
import type { GetLastSerialResponse, NegentropyItemsResponse } from '../../gen/orlydb/v1/db.js';
import type { NormalizedFilter } from '../../protocol/filter.js';
import type { NegentropyItems, StoredEvent, SyncSource } from '../event-store.js';
import { decodeNegentropyItems, filterJson } from './codec.js';
import type { DatabaseConnection } from './connection.js';
import { readEvents } from './event-stream.js';

/** GetSerials / NegentropyItems take uint32 counts. */
const UINT32_MAX = 0xffff_ffff;

export class GrpcSyncSource implements SyncSource {
  constructor(private readonly connection: DatabaseConnection) {}

  async *eventsSince(after: number, limit: number): AsyncGenerator<StoredEvent, void, undefined> {
    const connection = this.connection;
    connection.assertOpen();
    if (!(limit > 0)) return;
    const call = connection.client.getSerials(
      { after: Math.max(0, Math.floor(after)), limit: Math.min(UINT32_MAX, Math.floor(limit)) },
      connection.callMetadata(),
    );
    yield* readEvents(connection, call, 'eventsSince');
  }

  async lastSerial(): Promise<number> {
    const client = this.connection.client;
    const response = await this.connection.unary<GetLastSerialResponse>('lastSerial', (md, opts, cb) =>
      client.getLastSerial({}, md, opts, cb),
    );
    return response.serial;
  }

  async negentropyItems(filter: NormalizedFilter, max: number): Promise<NegentropyItems | undefined> {
    const { client, deadlineMs } = this.connection;
    const response = await this.connection.unary<NegentropyItemsResponse>(
      'negentropyItems',
      (md, opts, cb) =>
        client.negentropyItems(
          { filterJson: filterJson(filter), max: Math.max(0, Math.min(UINT32_MAX, Math.floor(max))) },
          md,
          opts,
          cb,
        ),
      deadlineMs * 10,
    );
    if (response.tooMany) return undefined;
    return decodeNegentropyItems(response.count, response.timestamps, response.ids);
  }
}
