/**
 * GrpcEventStore's administration role: deleteByIds (DeleteEvent), purgeExpired (PurgeExpired,
 * 10x the unary deadline), stats (Stats), and isOpen: the last known reachability of orly-db.
 */
import type { DeleteEventResponse, PurgeExpiredResponse, StatsResponse } from '../../gen/orlydb/v1/db.js';
import type { StoreAdmin, StoreStats } from '../event-store.js';
import type { DatabaseConnection } from './connection.js';

export class GrpcStoreAdmin implements StoreAdmin {
  constructor(private readonly connection: DatabaseConnection) {}

  async deleteByIds(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const client = this.connection.client;
    const response = await this.connection.unary<DeleteEventResponse>('deleteByIds', (md, opts, cb) =>
      client.deleteEvent({ ids: [...ids] }, md, opts, cb),
    );
    return response.deleted;
  }

  async purgeExpired(now: number): Promise<number> {
    const { client, deadlineMs } = this.connection;
    const response = await this.connection.unary<PurgeExpiredResponse>(
      'purgeExpired',
      (md, opts, cb) => client.purgeExpired({ now }, md, opts, cb),
      deadlineMs * 10,
    );
    return response.purged;
  }

  async stats(): Promise<StoreStats> {
    const client = this.connection.client;
    const response = await this.connection.unary<StatsResponse>('stats', (md, opts, cb) =>
      client.stats({}, md, opts, cb),
    );
    return { events: response.events, bytes: response.bytes, lastSerial: response.lastSerial };
  }

  isOpen(): boolean {
    return this.connection.isOpen();
  }
}
