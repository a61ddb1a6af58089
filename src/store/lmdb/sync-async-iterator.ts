/**
 * An AsyncIterableIterator over a synchronous producer. LMDB reads are synchronous, and an
 * async generator would cost several microtask hops per item; this costs one resolved
 * promise. `cleanup` runs exactly once: at exhaustion, on error, or when the consumer stops
 * early (`break` calls `return`).
 */

const DONE: Promise<IteratorResult<never, undefined>> = Promise.resolve({ done: true, value: undefined });

export class SyncBackedAsyncIterator<T> implements AsyncIterableIterator<T, undefined> {
  private finished = false;

  /** `produce` returns the next item, or undefined when there are no more. */
  constructor(
    private readonly produce: () => T | undefined,
    private readonly cleanup: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.finished) return DONE;
    let value: T | undefined;
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
