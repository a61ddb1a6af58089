/**
 * ACL mode "managed" through orly-acl (split mode): one orly-db, one orly-acl (managed) and two
 * relays using them. A ban made through relay A's NIP-86 API is seen by A at once and enforced
 * by relay B (EVENT refused at once: decisions ask orly-acl; stored events hidden within B's
 * refresh interval); relay information set through A shows in B's NIP-11; the state survives a
 * restart of orly-acl alone. Over raw gRPC: GetType, Manage refusals (INVALID_ARGUMENT naming
 * the field, PERMISSION_DENIED), outcomes as fields, versioned GetReadRestrictions; a mode without
 * management answers an error field, and a relay on it answers 400; an unauthenticated orly-acl
 * refuses Manage. On their own: GetReadRestrictions' versions and bounds, and the relay's copy
 * (kept when a refresh fails).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { pino } from 'pino';
import type { AccessControl, ReadRestrictions } from '../../src/acl/access-control.js';
import { ManagedAccessControl } from '../../src/acl/managed/managed-access-control.js';
import { ReadRestrictionsCopy } from '../../src/acl/read-restrictions-copy.js';
import { ACLServiceClient, type ReadRestrictionsResponse } from '../../src/gen/orlyacl/v1/acl.js';
import { createLogger } from '../../src/logger.js';
import { MAX_HIDDEN, ReadRestrictionsSource } from '../../src/services/acl/management-calls.js';
import { startAclServer } from '../../src/services/acl/server.js';
import { MemoryEventStore } from '../helpers/memory-store.js';
import { nip86 } from '../helpers/nip86.js';
import { newKeys, rawAuth, sign } from '../helpers/nostr.js';
import {
  RawClient,
  SPLIT_TOKEN,
  type SplitServices,
  startSplitServices,
  startTestAclService,
  startTestRelay,
  type TestAclService,
  type TestRelay,
} from '../helpers/relay-harness.js';
import { waitFor } from '../helpers/wait.js';

const logger = createLogger('silent');
const owner = newKeys();
const REFRESH_SECONDS = 1;
/** B must follow within its refresh interval; the rest is slack for a slow machine. */
const FOLLOW_MS = REFRESH_SECONDS * 1000 + 4000;

// biome-ignore lint/suspicious/noExplicitAny: raw calls of several shapes
type Raw = (req: object, md: Metadata, cb: (err: ServiceError | null, res: any) => void) => unknown;

/** One call to orly-acl as any gRPC client makes it (with the token). */
async function rawCall<T = Record<string, unknown>>(
  address: string,
  method: string,
  request: object,
): Promise<T> {
  const client = new ACLServiceClient(address, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${SPLIT_TOKEN}`);
  try {
    return await new Promise<T>((resolve, reject) =>
      ((client as unknown as Record<string, Raw>)[method] as Raw).call(client, request, md, (err, res) =>
        err ? reject(err) : resolve(res as T),
      ),
    );
  } finally {
    client.close();
  }
}

async function refusal(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call was not refused');
}

describe('managed mode through orly-acl, two relays', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'orly-managed-grpc-'));
  let services: SplitServices;
  let a: TestRelay;
  let b: TestRelay;
  const clients: RawClient[] = [];
  const connect = async (url: string) => {
    const c = await RawClient.connect(url);
    clients.push(c);
    return c;
  };
  const manage = (relay: TestRelay, method: string, params: unknown[] = []) =>
    nip86(relay.httpUrl, owner, method, params);
  let subs = 0;
  /** How many stored events of `author` a REQ on `c` returns (the subscription closed after EOSE). */
  const count = async (c: RawClient, author: string) => {
    const id = `q${++subs}`;
    const events = await c.query(id, { authors: [author] });
    c.send(['CLOSE', id]);
    return events.length;
  };

  before(async () => {
    services = await startSplitServices({ ORLY_ACL_MODE: 'managed', ORLY_OWNERS: owner.pk }, dataDir, logger);
    const relayEnv = { ORLY_GRPC_ACL_REFRESH_SECONDS: String(REFRESH_SECONDS) };
    a = await startTestRelay(relayEnv, services);
    b = await startTestRelay(relayEnv, services);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await a?.stop();
    await b?.stop();
    await services?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GetType, Manage refusals and outcomes, GetReadRestrictions over raw gRPC', async () => {
    const address = services.acl.address;
    assert.deepEqual(await rawCall(address, 'getType', {}), {
      mode: 'managed',
      hasManagement: true,
      hasWritePolicy: false,
    });
    const call = (request: object) =>
      rawCall(address, 'manage', {
        method: 'listbannedpubkeys',
        paramsJson: '[]',
        caller: owner.pk,
        ...request,
      });
    for (const [request, field] of [
      [{ paramsJson: '{' }, /params_json is not valid JSON/],
      [{ paramsJson: '{"a":1}' }, /params_json must be a JSON array/],
      [{ paramsJson: '' }, /params_json is not valid JSON/],
      [{ paramsJson: `["${'x'.repeat(65 * 1024)}"]` }, /params_json is over 65536 bytes/],
      [{ method: '' }, /method must be 1-64 characters/],
      [{ method: 'x'.repeat(65) }, /method must be 1-64 characters/],
      [{ caller: 'ZZ' }, /caller must be 64 lowercase hex/],
    ] as const) {
      const err = await refusal(call(request));
      assert.equal(err.code, status.INVALID_ARGUMENT, JSON.stringify(request).slice(0, 80));
      assert.match(err.details, field);
    }
    const stranger = await refusal(call({ caller: newKeys().pk }));
    assert.equal(stranger.code, status.PERMISSION_DENIED);
    assert.deepEqual(await call({ method: 'nosuchmethod' }), {
      outcome: { $case: 'error', value: 'unknown method: nosuchmethod' },
    });
    assert.deepEqual(await call({}), { outcome: { $case: 'resultJson', value: '[]' } });
    const first = await rawCall<{ version: string; unchanged: boolean; exemptPubkeys: string[] }>(
      address,
      'getReadRestrictions',
      { knownVersion: '' },
    );
    assert.equal(first.unchanged, false);
    assert.deepEqual(first.exemptPubkeys, [owner.pk]);
    assert.deepEqual(await rawCall(address, 'getReadRestrictions', { knownVersion: first.version }), {
      version: first.version,
      unchanged: true,
      hiddenAuthors: [],
      exemptPubkeys: [],
    });
  });

  it('a ban made through relay A: A hides at once, B refuses at once and hides within its refresh interval', async () => {
    const writer = newKeys();
    const onA = await connect(a.url);
    const onB = await connect(b.url);
    assert.deepEqual((await manage(a, 'allowpubkey', [writer.pk])).body, { result: true });
    const stored = sign(writer, { content: 'published on B' });
    assert.equal((await onB.publish(stored))[2], true, 'allowed through A, accepted by B');
    assert.equal(await count(onB, writer.pk), 1);
    assert.equal(await count(onA, writer.pk), 1);

    assert.deepEqual((await manage(a, 'banpubkey', [writer.pk, 'spam'])).body, { result: true });
    assert.equal(await count(onA, writer.pk), 0, 'the relay that made the change hides at once');
    const refused = await onB.publish(sign(writer, { content: 'after the ban' }));
    assert.equal(refused[2], false);
    assert.match(String(refused[3]), /^blocked: .*banned/);
    await waitFor(
      async () => (await count(onB, writer.pk)) === 0,
      FOLLOW_MS,
      'relay B hiding the banned author',
      100,
    );
    // Owners still see everything on B (the exempt list travelled too).
    const staff = await connect(b.url);
    assert.equal((await rawAuth(staff, owner, b.url))[2], true);
    assert.equal((await staff.query('s', { ids: [stored.id] })).length, 1);

    assert.deepEqual((await manage(a, 'unbanpubkey', [writer.pk])).body, { result: true });
    await waitFor(
      async () => (await count(onB, writer.pk)) === 1,
      FOLLOW_MS,
      'relay B showing it again',
      100,
    );
  });

  it("relay information set through A shows in B's NIP-11", async () => {
    assert.deepEqual((await manage(a, 'changerelayname', ['Shared ACL'])).body, { result: true });
    const doc = async () =>
      (await (
        await fetch(b.httpUrl, { headers: { Accept: 'application/nostr+json', Connection: 'close' } })
      ).json()) as Record<string, unknown>;
    let name: unknown;
    await waitFor(
      async () => {
        name = (await doc()).name;
        return name === 'Shared ACL';
      },
      10_000,
      () => `B's NIP-11 name (${String(name)})`,
      200,
    );
  });

  it('the state survives a restart of orly-acl alone; the relays follow it', async () => {
    const writer = newKeys();
    await manage(a, 'allowpubkey', [writer.pk]);
    const onB = await connect(b.url);
    assert.equal((await onB.publish(sign(writer, { content: 'before' })))[2], true);
    await manage(b, 'banpubkey', [writer.pk]);
    await services.restartAcl();
    let answer: unknown;
    await waitFor(
      async () => {
        answer = (await onB.publish(sign(writer, { content: 'after the restart' })))[3];
        return !String(answer).startsWith('error:');
      },
      10_000,
      () => `orly-acl answering again (${String(answer)})`,
      100,
    );
    assert.match(String(answer), /^blocked: .*banned/);
    const listed = (await manage(b, 'listbannedpubkeys')).body.result as { pubkey: string }[];
    assert.ok(listed.some((e) => e.pubkey === writer.pk));
    assert.equal(await count(onB, writer.pk), 0, 'still hidden');
  });

  it('a mode without management answers an error field over gRPC, and 400 through the relay', async () => {
    let open: TestAclService | undefined;
    let relay: TestRelay | undefined;
    try {
      open = await startTestAclService({ ORLY_ACL_MODE: 'none' }, services.dbAddress, logger);
      assert.deepEqual(await rawCall(open.address, 'getType', {}), {
        mode: 'none',
        hasManagement: false,
        hasWritePolicy: false,
      });
      assert.deepEqual(
        await rawCall(open.address, 'manage', {
          method: 'supportedmethods',
          paramsJson: '[]',
          caller: owner.pk,
        }),
        { outcome: { $case: 'error', value: 'ACL mode none has no management API' } },
      );
      relay = await startTestRelay(
        {},
        { relayEnv: { ...services.relayEnv, ORLY_GRPC_ACL_SERVER: open.address } },
      );
      const answer = await manage(relay, 'supportedmethods');
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, { error: 'ACL mode none has no management API' });
    } finally {
      await relay?.stop();
      await open?.stop();
    }
  });
});

describe("read restrictions: orly-acl's versions and bounds, the relay's copy", () => {
  const restrictions = (hidden: number): ReadRestrictions => ({
    hidden: new Set(Array.from({ length: hidden }, (_, i) => i.toString(16).padStart(64, '0'))),
    exempt: new Set(['ab'.repeat(32)]),
  });
  const fake = (current: () => ReadRestrictions) =>
    ({ readRestrictions: current }) as unknown as AccessControl;

  it('a new version only when the sets change; at most MAX_HIDDEN authors, and a log line', () => {
    const lines: string[] = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    let now = restrictions(MAX_HIDDEN + 5);
    const source = new ReadRestrictionsSource(
      fake(() => now),
      16 * 1024 * 1024,
      capture,
    );
    const first = source.answer('');
    assert.equal(first.hiddenAuthors.length, MAX_HIDDEN);
    assert.deepEqual(first.exemptPubkeys, ['ab'.repeat(32)]);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /too many hidden authors/);
    assert.equal(source.answer(first.version).unchanged, true);
    assert.equal(source.answer('other').hiddenAuthors.length, MAX_HIDDEN);
    assert.equal(lines.length, 1, 'logged once per version');
    now = restrictions(3);
    const second = source.answer(first.version);
    assert.notEqual(second.version, first.version);
    assert.equal(second.unchanged, false);
    assert.equal(second.hiddenAuthors.length, 3);
  });

  it('no more authors than fit in one message (ORLY_GRPC_MAX_MESSAGE_SIZE)', () => {
    const source = new ReadRestrictionsSource(
      fake(() => restrictions(50_000)),
      1024 * 1024,
    );
    const answer = source.answer('');
    assert.ok(answer.hiddenAuthors.length < 50_000);
    assert.ok(answer.hiddenAuthors.length * 66 < 1024 * 1024, `${answer.hiddenAuthors.length} entries`);
    assert.ok(answer.hiddenAuthors.length > 15_000);
  });

  it('the copy keeps the last lists when a refresh fails, never rejects, and logs once', async () => {
    const lines: string[] = [];
    const capture = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const answers: (ReadRestrictionsResponse | Error)[] = [
      { version: 'v1', unchanged: false, hiddenAuthors: ['aa'.repeat(32)], exemptPubkeys: [] },
      new Error('UNAVAILABLE'),
      new Error('UNAVAILABLE'),
      { version: 'v1', unchanged: true, hiddenAuthors: [], exemptPubkeys: [] },
      { version: 'v2', unchanged: false, hiddenAuthors: [], exemptPubkeys: [] },
    ];
    const asked: string[] = [];
    const copy = new ReadRestrictionsCopy(async (known) => {
      asked.push(known);
      const next = answers.shift()!;
      if (next instanceof Error) throw next;
      return next;
    }, capture);
    await copy.load();
    const first = copy.restrictions;
    assert.deepEqual([...first.hidden], ['aa'.repeat(32)]);
    await copy.refresh();
    await copy.refresh();
    assert.equal(copy.restrictions, first, 'kept while orly-acl cannot be reached');
    assert.equal(lines.filter((l) => l.includes('could not refresh')).length, 1, 'logged once');
    await copy.refresh();
    assert.equal(copy.restrictions, first, 'unchanged: the same lists');
    assert.equal(lines.filter((l) => l.includes('refreshed from orly-acl again')).length, 1);
    await copy.refresh();
    assert.equal(copy.restrictions.hidden.size, 0);
    assert.deepEqual(asked, ['', 'v1', 'v1', 'v1', 'v1']);
  });
});

describe('orly-acl without authentication (loopback, no token)', () => {
  it('refuses Manage with PERMISSION_DENIED, naming the variable; GetReadRestrictions stays open', async () => {
    const acl = await ManagedAccessControl.create({
      store: new MemoryEventStore(),
      owners: [owner.pk],
      admins: [],
    });
    const server = await startAclServer({ listen: '127.0.0.1:0', acl, logger });
    const client = new ACLServiceClient(server.address, credentials.createInsecure());
    const unary = (method: string, request: object) =>
      new Promise<unknown>((resolve, reject) =>
        ((client as unknown as Record<string, Raw>)[method] as Raw).call(
          client,
          request,
          new Metadata(),
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
    try {
      const err = await refusal(
        unary('manage', {
          method: 'banpubkey',
          paramsJson: JSON.stringify([newKeys().pk]),
          caller: owner.pk,
        }),
      );
      assert.equal(err.code, status.PERMISSION_DENIED);
      assert.match(err.details, /Manage needs an authenticated caller.*ORLY_GRPC_TOKEN/);
      assert.equal(acl.readRestrictions().hidden.size, 0, 'nothing banned');
      const open = (await unary('getReadRestrictions', { knownVersion: '' })) as { exemptPubkeys: string[] };
      assert.deepEqual(open.exemptPubkeys, [owner.pk]);
    } finally {
      client.close();
      await server.stop();
      await acl.close();
    }
  });
});
