/**
 * GrpcEventStore's state role: getState (GetState), putState (PutState, one durable transaction
 * on orly-db) and listState (ListState, asked again after the last key while orly-db answers
 * `more`: it keeps each answer below the smallest message size). The arguments are checked here
 * as every StateStore checks them (state-limits.ts), so bad input rejects with the same Error
 * before any call; orly-db checks them again. A put larger than one message to orly-db
 * (ORLY_GRPC_MAX_MESSAGE_SIZE) is refused here too: it could not be one transaction.
 */
import type { Empty, GetStateResponse, ListStateResponse, StateEntry } from '../../gen/orlydb/v1/db.js';
import type { StateStore } from '../event-store.js';
import { assertStateInput, stateEntriesProblem, stateKeyProblem, stateListProblem } from '../state-limits.js';
import type { DatabaseConnection } from './connection.js';

/** Protobuf framing of one StateEntry, and of the request around them (rounded up). */
const ENTRY_OVERHEAD = 16;
const MESSAGE_OVERHEAD = 1024;

export class GrpcStateStore implements StateStore {
  constructor(private readonly connection: DatabaseConnection) {}

  async getState(key: string): Promise<string | undefined> {
    assertStateInput('getState', stateKeyProblem(key));
    const client = this.connection.client;
    const response = await this.connection.unary<GetStateResponse>('getState', (md, opts, cb) =>
      client.getState({ key }, md, opts, cb),
    );
    return response.value;
  }

  async putState(entries: ReadonlyArray<readonly [key: string, value: string | undefined]>): Promise<void> {
    assertStateInput('putState', stateEntriesProblem(entries));
    if (entries.length === 0) return;
    let bytes = MESSAGE_OVERHEAD;
    const request: StateEntry[] = entries.map(([key, value]) => {
      bytes += Buffer.byteLength(key) + (value === undefined ? 0 : Buffer.byteLength(value)) + ENTRY_OVERHEAD;
      return value === undefined ? { key } : { key, value };
    });
    const max = this.connection.maxMessageBytes;
    if (bytes > max)
      throw new Error(
        `putState: the entries take about ${bytes} bytes, more than one message to orly-db may carry (${max}, ORLY_GRPC_MAX_MESSAGE_SIZE)`,
      );
    const client = this.connection.client;
    await this.connection.unary<Empty>('putState', (md, opts, cb) =>
      client.putState({ entries: request }, md, opts, cb),
    );
  }

  async listState(prefix: string, limit: number, after?: string): Promise<Array<[string, string]>> {
    assertStateInput('listState', stateListProblem(prefix, limit, after));
    const client = this.connection.client;
    const out: Array<[string, string]> = [];
    let cursor = after;
    for (;;) {
      const request = {
        prefix,
        limit: limit - out.length,
        ...(cursor === undefined ? {} : { after: cursor }),
      };
      const response = await this.connection.unary<ListStateResponse>('listState', (md, opts, cb) =>
        client.listState(request, md, opts, cb),
      );
      for (const entry of response.entries) out.push([entry.key, entry.value ?? '']);
      if (!response.more || response.entries.length === 0 || out.length >= limit) return out;
      cursor = out[out.length - 1]![0];
    }
  }
}
