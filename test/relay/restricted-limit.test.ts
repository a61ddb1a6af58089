/**
 * A REQ's limit counts only what the requester may see: when the newest matches are restricted
 * events (kind 4 / 1059) of other people, older visible events fill the limit, on every query
 * path (query workers, the store in the event loop, orly-db in split mode), including more
 * hidden events than the limit and many events at one created_at.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newKey, signedEvent } from '../helpers/events.js';
import { RawClient, startTestRelay, type TestRelay } from '../helpers/relay-harness.js';

const BASE = Math.floor(Date.now() / 1000) - 7200;

for (const workers of ['0', '2']) {
  describe(`restricted events and limit (ORLY_QUERY_WORKERS=${workers})`, () => {
    let t: TestRelay;
    const author = newKey();
    const stranger = newKey();
    const notes: string[] = [];

    before(async () => {
      t = await startTestRelay({ ORLY_QUERY_WORKERS: workers });
      const c = await RawClient.connect(t.url);
      // Oldest: 6 notes, one second apart; then 7 notes sharing one created_at; newest: 9 DMs.
      const events = [];
      for (let i = 0; i < 6; i++)
        events.push(signedEvent(author, { created_at: BASE + i, content: `note ${i}` }));
      for (let i = 0; i < 7; i++)
        events.push(signedEvent(author, { created_at: BASE + 10, content: `tie ${i}` }));
      for (let i = 0; i < 9; i++) {
        events.push(
          signedEvent(author, {
            kind: 4,
            created_at: BASE + 20 + i,
            tags: [['p', stranger.pubkey]],
            content: `dm ${i}`,
          }),
        );
      }
      for (const e of events) assert.equal((await c.publish(e))[2], true);
      await c.close();
      const visible = events.filter((e) => e.kind === 1);
      visible.sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? -1 : 1));
      notes.push(...visible.map((e) => e.id));
    });

    after(async () => {
      await t?.stop();
    });

    it('fills the limit with visible events past more hidden ones than the limit', async () => {
      const c = await RawClient.connect(t.url);
      try {
        for (const limit of [3, 8, 13, 50]) {
          const got = (await c.query(`l${limit}`, { authors: [author.pubkey], limit })).map((e) => e.id);
          assert.deepEqual(got, notes.slice(0, limit), `limit ${limit}`);
        }
      } finally {
        await c.close();
      }
    });
  });
}
