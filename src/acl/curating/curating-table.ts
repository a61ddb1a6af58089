/**
 * One keyed table of ACL mode "curating" (trusted pubkeys, spam ids, IP blocks, ...): a Map in
 * memory, for decisions, mirrored under one prefix of the StateStore as JSON values. Changes
 * are made in memory at once and return their state write and an undo, so that the caller
 * (curating-state.ts) writes several in one transaction and undoes them all if it fails.
 */
import type { StateStore } from '../../store/event-store.js';

/** A change made in memory: its state write and how to take it back. */
export interface TableChange {
  readonly write: readonly [key: string, value: string | undefined];
  readonly undo: () => void;
}

/** Keys read per listState call. */
const PAGE = 10_000;

export class StateTable<T> {
  private readonly map = new Map<string, T>();
  /** keySet()'s answer, dropped when the table changes. */
  private keys: ReadonlySet<string> | undefined;

  constructor(
    readonly prefix: string,
    private readonly parse: (value: unknown) => T | undefined,
  ) {}

  /** Reads every entry under the prefix (paged); values that do not parse are skipped. */
  async load(state: StateStore): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await state.listState(this.prefix, PAGE, after);
      for (const [key, value] of page) {
        let json: unknown;
        try {
          json = JSON.parse(value);
        } catch {
          continue;
        }
        const entry = this.parse(json);
        if (entry !== undefined) this.map.set(key.slice(this.prefix.length), entry);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]![0];
    }
    this.keys = undefined;
  }

  get(key: string): T | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** The oldest entry still here (insertion order; put() of an existing key moves it last). */
  first(): [string, T] | undefined {
    for (const entry of this.map) return entry;
    return undefined;
  }

  entries(): IterableIterator<[string, T]> {
    return this.map.entries();
  }

  /** The keys as a set, the same object while the table does not change. */
  keySet(): ReadonlySet<string> {
    this.keys ??= new Set(this.map.keys());
    return this.keys;
  }

  /** Sets (value) or deletes (undefined) `key` in memory; the write for the state and the undo. */
  put(key: string, value: T | undefined): TableChange {
    const before = this.map.get(key);
    this.set(key, value);
    return {
      write: [`${this.prefix}${key}`, value === undefined ? undefined : JSON.stringify(value)],
      undo: () => this.set(key, before),
    };
  }

  private set(key: string, value: T | undefined): void {
    if (value === undefined) {
      if (this.map.delete(key)) this.keys = undefined;
      return;
    }
    this.map.delete(key);
    this.map.set(key, value);
    this.keys = undefined;
  }
}

/** Applies changes made in memory to the state in one transaction; undoes them all if it fails. */
export async function commit(state: StateStore, changes: readonly TableChange[]): Promise<void> {
  if (changes.length === 0) return;
  try {
    await state.putState(changes.map((change) => change.write));
  } catch (err) {
    for (const change of [...changes].reverse()) change.undo();
    throw err;
  }
}
