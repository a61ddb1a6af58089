/**
 * An AsyncIterableIterator over a synchronous producer. LMDB reads are synchronous, and an
 * async generator would cost several microtask hops per item; this costs one resolved
 * promise. `cleanup` runs exactly once: at exhaustion, on error, or when the consumer stops
 * early (`break` calls `return`). A producer may return PAUSE instead of an item: the iterator
 * then awaits `pause()` (a turn of the event loop, a query's timeslice) before asking again; a
 * rejected pause ends the iteration with that error.
 */

/** Returned by a producer that wants a pause before its next item. */
export const PAUSE: unique symbol = Symbol('pause');

const DONE: Promise<IteratorResult<never, undefined>> = Promise.resolve({ done: true, value: undefined });

export class SyncBackedAsyncIterator<T> implements AsyncIterableIterator<T, undefined> {
  private finished = false;

  /** `produce` returns the next item, undefined when there are no more, or PAUSE. */
  constructor(
    private readonly produce: () => T | typeof PAUSE | undefined,
    private readonly cleanup: () => void,
    private readonly pause: () => Promise<void> = () => Promise.resolve(),
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.finished) return DONE;
    let value: T | typeof PAUSE | undefined;
    try {
      value = this.produce();
    } catch (error) {
      this.finish();
      return Promise.reject(error);
    }
    if (value === undefined) {
      this.finish();
      return DONE;
    }
    if (value === PAUSE)
      return this.pause().then(
        () => this.next(),
        (error: unknown) => {
          this.finish();
          throw error;
        },
      );
    return Promise.resolve({ done: false, value });
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.finish();
    return DONE;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
  }
}
