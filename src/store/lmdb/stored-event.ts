/**
 * The StoredEvent handed out by the LMDB store. It holds the canonical JSON as the bytes read
 * from disk: the relay sends those bytes as they are, so the string (`raw`) and the parsed
 * object (`event`) are only built when something asks for them. The kind is known without
 * parsing when the source gives it (an index key, a gRPC message).
 */
import { idOfEventJson, type NostrEvent } from '../../protocol/event.js';
import type { StoredEvent } from '../event-store.js';

/** `{"id":"` — canonical JSON starts with the id, so it can be read without decoding the rest. */
const ID_PREFIX = Buffer.from('{"id":"');

export class LazyStoredEvent implements StoredEvent {
  private text: string | undefined;
  private parsed: NostrEvent | undefined;
  private readonly data: Buffer | undefined;

  constructor(
    readonly serial: number,
    source: string | Buffer,
    event?: NostrEvent,
    private readonly knownKind?: number,
    readonly wrapped?: Buffer,
  ) {
    if (typeof source === 'string') this.text = source;
    else this.data = source;
    this.parsed = event;
  }

  get kind(): number {
    return this.knownKind ?? this.event.kind;
  }

  get bytes(): Buffer | undefined {
    return this.data;
  }

  get raw(): string {
    this.text ??= this.data!.toString('utf8');
    return this.text;
  }

  get id(): string {
    if (this.parsed) return this.parsed.id;
    const data = this.data;
    return (data && idOfStoredJson(data)) ?? idOfEventJson(this.raw);
  }

  get event(): NostrEvent {
    this.parsed ??= JSON.parse(this.raw) as NostrEvent;
    return this.parsed;
  }

  /** Plain-object form, so that logging or JSON.stringify shows the event. */
  toJSON(): { serial: number; raw: string; event: NostrEvent } {
    return { serial: this.serial, raw: this.raw, event: this.event };
  }
}

const PUBKEY_KEY = Buffer.from(',"pubkey":"');

/** The pubkey of canonical event JSON bytes (`{"id":"…","pubkey":"<64 hex>",…`) without decoding them; undefined for other layouts. */
export function pubkeyOfStoredJson(data: Buffer): string | undefined {
  if (
    data.length > 148 &&
    data[147] === 34 &&
    data.compare(PUBKEY_KEY, 0, PUBKEY_KEY.length, 71 + 1, 83) === 0
  )
    return data.toString('latin1', 83, 147);
  return undefined;
}

/** The id of canonical event JSON bytes (`{"id":"<64 hex>",...`) without decoding them; undefined for other layouts. */
export function idOfStoredJson(data: Buffer): string | undefined {
  if (data.length > 72 && data[71] === 34 && data.compare(ID_PREFIX, 0, 7, 0, 7) === 0) {
    return data.toString('latin1', 7, 71);
  }
  return undefined;
}
