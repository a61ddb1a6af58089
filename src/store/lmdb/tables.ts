/**
 * The LMDB environment of the store (orly.lmdb) and its named sub-databases, opened once; see
 * lmdb-store.ts for what each holds. Shared by the store's read and write paths.
 */
import { type Database, open, type RootDatabase } from 'lmdb';
import type { NostrEvent } from '../../protocol/event.js';

/** Bumped whenever the on-disk layout changes incompatibly. */
const LAYOUT_VERSION = 2;
const DEFAULT_MAX_READERS = 512;
export const EMPTY = Buffer.alloc(0);

type BinaryDb = Database<Buffer, Buffer>;

export interface LmdbTablesOptions {
  readonly mapSize?: number;
  readonly maxReaders?: number;
}

export class LmdbTables {
  readonly root: RootDatabase;
  readonly events: Database<string, number>;
  /** The same database read as bytes: query results go to the wire without a decode/encode round trip. */
  readonly eventBytes: Database<Buffer, number>;
  readonly ids: BinaryDb;
  readonly index: BinaryDb;
  readonly versions: BinaryDb;
  readonly deletedIds: BinaryDb;
  readonly deletedAddrs: BinaryDb;
  readonly expiry: BinaryDb;
  /** The StateStore's entries: UTF-8 key bytes -> string value (state-table.ts). */
  readonly state: Database<string, Buffer>;

  constructor(dataFile: string, options: LmdbTablesOptions) {
    this.root = open({
      path: dataFile,
      noSubdir: true,
      maxDbs: 16,
      // Commit == fsync'd (see the header); never noSync / useWritemap.
      overlappingSync: false,
      ...(options.mapSize !== undefined ? { mapSize: options.mapSize } : {}),
      maxReaders: options.maxReaders ?? DEFAULT_MAX_READERS,
    });
    const binary = { keyEncoding: 'binary', encoding: 'binary' } as const;
    this.events = this.root.openDB<string, number>('events', { encoding: 'string' });
    // The same database read as bytes: query results go to the wire without a decode/encode round trip.
    this.eventBytes = this.root.openDB<Buffer, number>('events', { encoding: 'binary' });
    this.ids = this.root.openDB<Buffer, Buffer>('ids', binary);
    this.index = this.root.openDB<Buffer, Buffer>('index', binary);
    this.versions = this.root.openDB<Buffer, Buffer>('versions', binary);
    this.deletedIds = this.root.openDB<Buffer, Buffer>('deleted-ids', binary);
    this.deletedAddrs = this.root.openDB<Buffer, Buffer>('deleted-addrs', binary);
    this.expiry = this.root.openDB<Buffer, Buffer>('expiry', binary);
    // Created on first open: a store of an earlier version gains it without a layout change.
    this.state = this.root.openDB<string, Buffer>('state', { keyEncoding: 'binary', encoding: 'string' });
    const meta = this.root.openDB<number, string>('meta', {});
    const layout = meta.get('layout');
    if (layout === undefined) {
      meta.putSync('layout', LAYOUT_VERSION);
    } else if (layout !== LAYOUT_VERSION) {
      void this.root.close();
      throw new Error(`${dataFile}: unsupported layout version ${layout} (expected ${LAYOUT_VERSION})`);
    }
  }

  loadEvent(serial: number): NostrEvent | undefined {
    const raw = this.events.get(serial);
    return raw === undefined ? undefined : (JSON.parse(raw) as NostrEvent);
  }
}
