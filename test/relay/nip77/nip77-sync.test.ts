/**
 * NIP-77 sync against a real relay (ORLY_NEGENTROPY_ENABLED=true) holding real signed events:
 * NIP-11 lists 77; nostr-tools' NegentropySync and our own initiator (small frames, many rounds,
 * a kinds filter, an empty client, a limit) find exactly the expected have/need; /metrics counts
 * open sessions. Runs in split mode too (negentropyItems over gRPC, or orly-sync-negentropy).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nip77 } from 'nostr-tools';
import { Clients } from '../../helpers/nostr.js';
import { idSet, itemsOf, nip11, rawSync, useNip77Relay, writer } from './nip77-fixtures.js';

const clients = new Clients();

describe('NIP-77 sync against the relay', () => {
  const { t, shared, relayOnly, clientOnly } = useNip77Relay(clients);

  it('NIP-11 lists 77 when enabled', async () => {
    assert.ok((await nip11(t)).supported_nips.includes(77));
  });

  it("nostr-tools' NegentropySync finds exactly the expected have/need", async () => {
    const relay = await clients.nostrTools(t.url);
    const storage = new nip77.NegentropyStorageVector();
    for (const ev of [...shared, ...clientOnly]) storage.insert(ev.created_at, ev.id);
    storage.seal();
    const have = new Set<string>();
    const need = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('sync timed out')), 20_000);
      const sync = new nip77.NegentropySync(
        relay,
        storage,
        { authors: [writer.pk] },
        {
          onhave: (id) => have.add(id),
          onneed: (id) => need.add(id),
          onclose: (reason) => {
            clearTimeout(timer);
            if (reason) reject(new Error(reason));
            else resolve();
          },
        },
      );
      sync.start().catch(reject);
    });
    assert.deepEqual(have, idSet(clientOnly));
    assert.deepEqual(need, idSet(relayOnly));
  });

  it('our initiator finds the same over small frames (4096 bytes, many rounds), with a kinds filter', async () => {
    const c = await clients.raw(t.url);
    const local = [...shared, ...clientOnly].filter((e) => e.kind === 1);
    const r = await rawSync(c, 'small-frames', { kinds: [1] }, itemsOf(local), 4096);
    assert.deepEqual(r.have, idSet(clientOnly.filter((e) => e.kind === 1)));
    assert.deepEqual(r.need, idSet(relayOnly.filter((e) => e.kind === 1)));
    assert.ok(r.rounds > 1, `${r.rounds} rounds`);
  });

  it('an empty client learns every id a REQ would serve (accepts a one-element filter array)', async () => {
    const c = await clients.raw(t.url);
    const r = await rawSync(c, 'all', [{ authors: [writer.pk] }], []);
    assert.equal(r.have.size, 0);
    assert.deepEqual(r.need, idSet([...shared, ...relayOnly]));
  });

  it('/metrics counts open sessions (orly_negentropy_sessions)', async () => {
    const sessions = async (): Promise<number> => {
      const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
      return Number(/^orly_negentropy_sessions (\d+)/m.exec(text)?.[1]);
    };
    const c = await clients.raw(t.url);
    const before = await sessions();
    // A one-item set against many: the reply asks for another round, so the session stays open.
    c.send(['NEG-OPEN', 'metered', { authors: [writer.pk] }, '6100000200']);
    assert.equal((await c.next((f) => f[1] === 'metered'))[0], 'NEG-MSG');
    assert.equal(await sessions(), before + 1);
    c.send(['NEG-CLOSE', 'metered']);
    await c.roundTrip();
    assert.equal(await sessions(), before);
  });

  it('a limit keeps the newest events, like a REQ with that limit', async () => {
    const c = await clients.raw(t.url);
    const r = await rawSync(c, 'limited', { authors: [writer.pk], kinds: [1], limit: 50 }, []);
    const req = await c.query('req-limited', { authors: [writer.pk], kinds: [1], limit: 50 });
    assert.deepEqual(r.need, new Set(req.map((e) => e.id as string)));
  });
});
