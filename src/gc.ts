/**
 * V8's full garbage collection on demand, for giving memory back after a burst (the relay's
 * MemoryReclaimer, the query workers when they fall idle). Enabled at run time through
 * --expose-gc when the process was not started with it; undefined if that is not possible.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function loadCollector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
