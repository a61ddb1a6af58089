/** Shared by the nip01-req-*.test.ts files: publishing events one by one, each answered OK true. */
import assert from 'node:assert/strict';
import type { NostrEvent } from '../../src/protocol/event.js';
import type { RawClient } from '../helpers/relay-harness.js';

export async function publishAll(c: RawClient, events: NostrEvent[]): Promise<void> {
  for (const ev of events) assert.deepEqual(await c.publish(ev), ['OK', ev.id, true, '']);
}
