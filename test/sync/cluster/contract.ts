/**
 * The contract of a ClusterReplication, run against each form (contract.test.ts): the in-process
 * ClusterSync and GrpcClusterSync over a real orly-sync-cluster server. The subject's store holds
 * a few events (one a DM, kind 4) and an admin's membership naming one member, a stub relay on
 * loopback (its NIP-11 names its identity; its /cluster/latest says serial 0), and this relay
 * itself (dropped). Checked: the members and their progress, the status, the trusted readers, the
 * endpoints through handleHttp (401, 403, 200, 400, 404, 405), the listing (restricted kinds left
 * out unless privileged events propagate), polling paused and resumed, membership events handed
 * over (refused, applied, older), and the operator's override until the next membership event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NostrEvent } from '../../../src/protocol/event.js';
import type { ClusterReplication } from '../../../src/sync/cluster/cluster-replication.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import { type Keys, newKeys, nowSec, sign } from '../../helpers/nostr.js';
import { waitFor } from '../../helpers/wait.js';
import type { ContractSubject, FormContext, StubRelay } from '../contract-forms.js';
import { assertPolledOnce, endpointRequest, RELAY_HTTP, startStubRelay } from '../contract-forms.js';

export interface ContractContext extends FormContext {
  /** ORLY_CLUSTER_ADMINS. */
  readonly admin: Keys;
  readonly propagatePrivileged: boolean;
}

/** Builds and starts the subject: ORLY_RELAY_URL=RELAY_HTTP, restricted kinds 4 and 1059, no live links. */
type SubjectFactory = (ctx: ContractContext) => Promise<ContractSubject<ClusterReplication>>;

/** A stub member relay: NIP-11 with `self`, /cluster/latest with serial 0. */
const startStubMember = (keys: Keys) =>
  startStubRelay(keys, 'GET', '/cluster/latest', () => ({ serial: 0, timestamp: nowSec() }));

export function membershipEvent(admin: Keys, urls: readonly string[], createdAt: number): NostrEvent {
  return sign(admin, {
    kind: 39108,
    created_at: createdAt,
    tags: [['d', 'membership'], ['version', '1'], ...urls.map((u) => ['relay', u])],
    content: '{"name":"contract"}',
  });
}

/** Three plain notes and a DM to `reader`; the same events go into every store of the suite. */
function seedEvents(author: Keys, reader: Keys): { events: NostrEvent[]; dm: string; ids: string[] } {
  const events = [0, 1, 2].map((i) => sign(author, { content: `contract ${i}` }));
  const dm = sign(author, { kind: 4, tags: [['p', reader.pk]], content: 'secret' });
  events.push(dm);
  return { events, dm: dm.id, ids: events.map((e) => e.id) };
}

async function seed(store: MemoryEventStore, events: readonly NostrEvent[]): Promise<void> {
  for (const event of events) assert.ok((await store.save(event)).stored);
}

async function stored(store: MemoryEventStore, id: string): Promise<boolean> {
  for await (const event of store.eventsSince(0, 10_000)) if (event.id === id) return true;
  return false;
}

/** The suite against one form; each subject over a new in-memory store. */
export function clusterContract(formName: string, factory: SubjectFactory): void {
  describe(`ClusterReplication contract: ${formName}`, () => {
    const self = newKeys();
    const admin = newKeys();
    const member = newKeys();
    const stranger = newKeys();
    const author = newKeys();
    const t0 = nowSec() - 1000;
    let stub: StubRelay;
    let store: MemoryEventStore;
    let closed: MemoryEventStore;
    let subject: ContractSubject<ClusterReplication>;
    let sync: ClusterReplication;
    /** The same, privileged events not propagated. */
    let closedSubject: ContractSubject<ClusterReplication>;
    let seeded: { dm: string; ids: string[] };

    before(async () => {
      stub = await startStubMember(member);
      store = new MemoryEventStore();
      closed = new MemoryEventStore();
      // One set of events for both stores (signed twice, they could differ in created_at).
      const made = seedEvents(author, stranger);
      seeded = made;
      const membership = membershipEvent(admin, [stub.url, RELAY_HTTP], t0);
      for (const s of [store, closed]) {
        await seed(s, made.events);
        assert.ok((await s.save(membership)).stored);
      }
      subject = await factory({ store, self, admin, propagatePrivileged: true });
      closedSubject = await factory({ store: closed, self, admin, propagatePrivileged: false });
      sync = subject.replication;
    });
    after(async () => {
      await subject?.close();
      await closedSubject?.close();
      await stub?.close();
    });

    const get = (target: ClusterReplication, path: string, query: string, signer?: Keys, method = 'GET') =>
      endpointRequest(target, path, { method, query, signer });

    it('the members from the stored membership (itself dropped), their identity and progress', async () => {
      let last = '';
      await waitFor(
        async () => {
          const members = await sync.listMembers();
          last = JSON.stringify(members);
          return members.length === 1 && members[0]!.status === 'active' && members[0]!.pubkey !== '';
        },
        10_000,
        () => `the member polled: ${last}`,
      );
      const [only] = await sync.listMembers();
      assert.ok(only);
      assertPolledOnce(only, stub.url, member.pk, { wsUrl: stub.url.replace('http:', 'ws:') });
      assert.deepEqual(
        await sync.memberStatus(stub.url.replace('http:', 'ws:')),
        only,
        'any form of its URL',
      );
      assert.equal(await sync.memberStatus('http://127.0.0.1:9'), undefined);
      const status = await sync.status();
      assert.equal(status.nodeId, self.pk);
      assert.equal(status.currentSerial, await store.lastSerial());
      assert.deepEqual(
        status.peers.map((p) => [p.url, p.pubkey]),
        [[stub.url, member.pk]],
      );
      assert.equal(await sync.latestSerial(), await store.lastSerial());
    });

    it("cluster status; the trusted readers are the members' identities only when privileged events propagate", async () => {
      const status = await sync.clusterStatus();
      assert.equal(status.nodeId, self.pk);
      assert.equal(status.latestSerial, await store.lastSerial());
      assert.equal(status.propagatePrivileged, true);
      assert.deepEqual(status.trustedReaders, [member.pk]);
      assert.deepEqual(
        status.members.map((m) => m.url),
        [stub.url],
      );
      await waitFor(() => sync.trustedReaders?.().has(member.pk) === true, 10_000, 'the trusted copy');
      const closedStatus = await closedSubject.replication.clusterStatus();
      assert.equal(closedStatus.propagatePrivileged, false);
      assert.deepEqual(closedStatus.trustedReaders, []);
      assert.equal(closedSubject.replication.trustedReaders?.().size ?? 0, 0);
    });

    it('endpoints: 401 without a token, 403 from a stranger, 200 from a member; bad input 4xx', async () => {
      const none = await get(sync, '/cluster/latest', '');
      assert.equal(none.status, 401);
      assert.equal((await get(sync, '/cluster/latest', '', stranger)).status, 403);
      const latest = await get(sync, '/cluster/latest', '', member);
      assert.equal(latest.status, 200, latest.body);
      const body = JSON.parse(latest.body) as { serial: number; timestamp: number };
      assert.equal(body.serial, await store.lastSerial());
      assert.ok(Math.abs(body.timestamp - nowSec()) < 60);
      const events = await get(sync, '/cluster/events', 'from=1&limit=100', member);
      assert.equal(events.status, 200, events.body);
      const listed = (JSON.parse(events.body) as { events: { id: string }[] }).events.map((e) => e.id);
      for (const id of seeded.ids) assert.ok(listed.includes(id), `${id} listed`);
      assert.equal((await get(sync, '/cluster/events', 'from=1&limit=0', member)).status, 400);
      assert.equal((await get(sync, '/cluster/events', 'from=9&to=2', member)).status, 400);
      assert.equal((await get(sync, '/cluster/latest', '', member, 'POST')).status, 405);
      assert.equal((await get(sync, '/cluster/elsewhere', '', member)).status, 404);
      // Privileged events kept home: the DM is not listed.
      const home = await get(closedSubject.replication, '/cluster/events', 'from=1', member);
      assert.equal(home.status, 200, home.body);
      const homeIds = (JSON.parse(home.body) as { events: { id: string }[] }).events.map((e) => e.id);
      assert.ok(!homeIds.includes(seeded.dm));
      assert.equal(homeIds.length, seeded.ids.length, 'the others and the membership');
    });

    it('eventsInRange: ascending, paged by limit, restricted kinds left out when kept home; bad ranges refused', async () => {
      const all = await sync.eventsInRange(1, Number.MAX_SAFE_INTEGER, 0);
      assert.equal(all.rows.length, seeded.ids.length + 1);
      assert.deepEqual(
        all.rows.map((r) => r.serial),
        [...all.rows.map((r) => r.serial)].sort((a, b) => a - b),
      );
      assert.equal(all.hasMore, false);
      const page = await sync.eventsInRange(1, 1000, 2);
      assert.equal(page.rows.length, 2);
      assert.equal(page.hasMore, true);
      assert.equal(page.nextFrom, page.rows[1]!.serial + 1);
      const home = await closedSubject.replication.eventsInRange(1, 1000, 100);
      assert.ok(!home.rows.some((r) => r.id === seeded.dm));
      await assert.rejects(sync.eventsInRange(5, 4, 0));
      await assert.rejects(sync.eventsInRange(1, 4, 10_001));
    });

    it('polling paused and resumed; the endpoints answer meanwhile', async () => {
      assert.equal(await sync.setPolling(false), false);
      assert.equal(await sync.setPolling(false), false);
      assert.equal((await get(sync, '/cluster/latest', '', member)).status, 200);
      assert.equal(await sync.setPolling(true), true);
      await waitFor(
        async () => (await sync.memberStatus(stub.url))?.status === 'active',
        10_000,
        'the member polled again',
      );
    });

    it('membership events handed over: refused, applied (and stored), older ones accepted but not applied', async () => {
      const other = 'http://127.0.0.1:9';
      const outsider = await sync.handleMembershipEvent(
        membershipEvent(stranger, [stub.url, other], t0 + 10),
      );
      assert.equal(outsider.accepted, false);
      assert.match(outsider.error, /^restricted: .*not a cluster admin/);
      const forged = { ...membershipEvent(admin, [other], t0 + 10), sig: 'ab'.repeat(64) };
      assert.match((await sync.handleMembershipEvent(forged)).error, /^invalid: .*signature/);
      const wrongKind = sign(admin, { kind: 1, content: 'x' });
      assert.match((await sync.handleMembershipEvent(wrongKind)).error, /^invalid: /);
      const noRelays = sign(admin, { kind: 39108, created_at: t0 + 10, tags: [['d', 'membership']] });
      assert.match((await sync.handleMembershipEvent(noRelays)).error, /no relay tags/);

      const newer = membershipEvent(admin, [stub.url, other], t0 + 10);
      assert.deepEqual(await sync.handleMembershipEvent(newer), { accepted: true, applied: true, error: '' });
      assert.deepEqual(
        (await sync.listMembers()).map((m) => m.url),
        [stub.url, other],
      );
      assert.ok(await stored(store, newer.id), 'stored');
      const older = membershipEvent(admin, [stub.url], t0 + 5);
      assert.deepEqual(await sync.handleMembershipEvent(older), {
        accepted: true,
        applied: false,
        error: '',
      });
      assert.equal((await sync.listMembers()).length, 2);
    });

    it("the operator's override: refused when invalid, kept in the store, ended by the next membership event", async () => {
      await assert.rejects(
        sync.updateMembership([stub.url, 'ftp://nope.example']),
        /^Error: invalid: member 2/,
      );
      await assert.rejects(sync.updateMembership(['ws://127.0.0.1:9']), /expected http, https/);
      await assert.rejects(
        sync.updateMembership(Array.from({ length: 101 }, (_, i) => `http://127.0.0.1:${1000 + i}`)),
        /the limit is 100/,
      );
      assert.equal((await sync.listMembers()).length, 2, 'unchanged');
      const overridden = await sync.updateMembership([`${stub.url}/`, RELAY_HTTP]);
      assert.deepEqual(
        overridden.map((m) => m.url),
        [stub.url],
        'normalized, itself dropped',
      );
      assert.ok((await store.getState('sync.cluster.override')) !== undefined, 'kept in the store');
      // An older admin event does not end it; a newer one does.
      const older = membershipEvent(admin, [stub.url, 'http://127.0.0.1:9'], t0 + 1);
      assert.equal((await sync.handleMembershipEvent(older)).applied, false);
      assert.equal((await sync.listMembers()).length, 1);
      const newest = membershipEvent(admin, [stub.url, 'http://127.0.0.1:8'], t0 + 20);
      assert.deepEqual(await sync.handleMembershipEvent(newest), {
        accepted: true,
        applied: true,
        error: '',
      });
      assert.deepEqual(
        (await sync.listMembers()).map((m) => m.url),
        [stub.url, 'http://127.0.0.1:8'],
      );
      assert.equal(await store.getState('sync.cluster.override'), undefined, 'the override is gone');
    });
  });
}
