/**
 * orly-sync-relaygroup's RPCs over real gRPC (a server in this process on port 0, with a token,
 * over an in-memory store): every RPC answered; bad input (event_json that is not an event, a
 * pubkey that is not hex) is INVALID_ARGUMENT; ValidateRelayGroupEvent really validates (id,
 * signature, kind, admin, content, URLs); HandleRelayGroupEvent re-reads the configuration in
 * force. The relay's client (GrpcRelayGroupSync) against it, and against nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { credentials, status } from '@grpc/grpc-js';
import { RelayGroupServiceClient } from '../../../src/gen/orlysync/relaygroup/v1/relaygroup.js';
import { createLogger } from '../../../src/logger.js';
import type { NostrEvent } from '../../../src/protocol/event.js';
import {
  type RelayGroupServer,
  startRelayGroupServer,
} from '../../../src/services/sync-relaygroup/server.js';
import { GrpcRelayGroupSync } from '../../../src/sync/relaygroup/grpc-relay-group-sync.js';
import { grpcCode, unaryCaller } from '../../helpers/grpc-call.js';
import { MemoryEventStore } from '../../helpers/memory-store.js';
import { type Keys, newKeys, nowSec, sign } from '../../helpers/nostr.js';
import { assertStartGivesUp } from '../../helpers/sync-client-down.js';
import { freePort } from '../../launcher/fake-service.js';

const logger = createLogger('silent');
const TOKEN = 'relaygroup-rpcs-token-0123456789abcd';

const call = unaryCaller(TOKEN);

const admin = newKeys();
const otherAdmin = newKeys();

function group(relays: unknown, by: Keys = admin, createdAt = nowSec(), d = 'group'): NostrEvent {
  return sign(by, {
    kind: 39105,
    created_at: createdAt,
    tags: [['d', d]],
    content: JSON.stringify({ relays }),
  });
}

describe('orly-sync-relaygroup RPCs', () => {
  const store = new MemoryEventStore();
  let server: RelayGroupServer;
  let client: RelayGroupServiceClient;
  const validate = (event: unknown) =>
    call<{ valid: boolean; error: string; relays: string[] }>(client, 'validateRelayGroupEvent', {
      eventJson: typeof event === 'string' ? event : JSON.stringify(event),
    });
  const handle = (event: NostrEvent) =>
    call<{ accepted: boolean; authoritative: boolean; error: string }>(client, 'handleRelayGroupEvent', {
      eventJson: JSON.stringify(event),
    });

  before(async () => {
    server = await startRelayGroupServer({
      listen: '127.0.0.1:0',
      store,
      admins: [admin.pk, otherAdmin.pk],
      logger,
      security: { token: TOKEN },
    });
    client = new RelayGroupServiceClient(server.address, credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await server?.stop();
  });

  it('the token is required; Ready, the admins, no configuration yet', async () => {
    await assert.rejects(call(client, 'ready', {}, null), grpcCode(status.UNAUTHENTICATED));
    await assert.rejects(
      call(client, 'getRelays', {}, 'wrong-token-0123456789abcdef'),
      grpcCode(status.UNAUTHENTICATED),
    );
    assert.deepEqual(await call(client, 'ready', {}), { ready: true });
    assert.deepEqual(await call(client, 'getAuthorizedPubkeys', {}), { pubkeys: [admin.pk, otherAdmin.pk] });
    assert.deepEqual(await call(client, 'isAuthorizedPublisher', { pubkey: admin.pk }), { authorized: true });
    assert.deepEqual(await call(client, 'isAuthorizedPublisher', { pubkey: admin.pk.toUpperCase() }), {
      authorized: true,
    });
    assert.deepEqual(await call(client, 'isAuthorizedPublisher', { pubkey: newKeys().pk }), {
      authorized: false,
    });
    for (const pubkey of ['', 'npub1xyz', admin.pk.slice(1)])
      await assert.rejects(
        call(client, 'isAuthorizedPublisher', { pubkey }),
        grpcCode(status.INVALID_ARGUMENT, /64 hex/),
      );
    assert.deepEqual(await call(client, 'findAuthoritativeConfig', {}), {
      config: undefined,
      found: false,
      sourceEventId: '',
      sourceTimestamp: 0,
    });
    assert.deepEqual(await call(client, 'getRelays', {}), { relays: [] });
  });

  it('ValidateRelayGroupEvent: what is not an event is INVALID_ARGUMENT', async () => {
    const good = group(['wss://a.example']);
    for (const [text, why] of [
      ['', /not valid JSON/],
      ['{"relays":', /not valid JSON/],
      ['[1,2]', /must be a JSON object/],
      [JSON.stringify({ ...good, sig: 'xyz' }), /sig must be/],
      [JSON.stringify({ ...good, kind: 'x' }), /kind must be/],
      ['x'.repeat(300 * 1024), /the limit is 262144/],
    ] as const)
      await assert.rejects(validate(text), grpcCode(status.INVALID_ARGUMENT, why));
    await assert.rejects(
      call(client, 'handleRelayGroupEvent', { eventJson: 'nope' }),
      grpcCode(status.INVALID_ARGUMENT),
    );
  });

  it('ValidateRelayGroupEvent really validates: id, signature, kind, admin, content, URLs', async () => {
    assert.deepEqual(await validate(group(['wss://A.example/', 'ws://b.example:7777', 'wss://a.example'])), {
      valid: true,
      error: '',
      relays: ['wss://a.example', 'ws://b.example:7777'],
    });
    const good = group(['wss://a.example']);
    const cases: [unknown, RegExp][] = [
      [{ ...good, content: '{"relays":["wss://evil.example"]}' }, /^invalid: event id does not match/],
      [{ ...good, sig: good.sig.replace(/^./, good.sig[0] === '0' ? '1' : '0') }, /^invalid: signature/],
      [sign(admin, { kind: 10008, content: '{"relays":["wss://a.example"]}' }), /kind 10008 is not/],
      [
        group(['wss://a.example'], newKeys()),
        /^restricted: relay group: [0-9a-f]{64} is not a relay-group admin/,
      ],
      [sign(admin, { kind: 39105, content: 'not json' }), /content is not valid JSON/],
      [group([]), /"relays" is empty/],
      [group(['wss://a.example', 'ftp://b.example']), /relays\[1\]/],
      [group(Array.from({ length: 101 }, (_, i) => `wss://r${i}.example`)), /the limit is 100/],
    ];
    for (const [event, why] of cases) {
      const answer = await validate(event);
      assert.equal(answer.valid, false, JSON.stringify(answer));
      assert.match(answer.error, why);
      assert.deepEqual(answer.relays, []);
    }
    assert.deepEqual(await call(client, 'getRelays', {}), { relays: [] }, 'validation changes nothing');
  });

  it('HandleRelayGroupEvent: the newest stored valid one is in force; older, unstored or invalid ones are not', async () => {
    const now = nowSec();
    const older = group(['wss://old.example'], admin, now - 100);
    const current = group(['wss://b.example', 'wss://c.example'], otherAdmin, now - 10, 'other');
    const notStored = group(['wss://later.example'], admin, now);
    await store.save(older);
    assert.deepEqual(await handle(older), { accepted: true, authoritative: true, error: '' });
    await store.save(current);
    assert.deepEqual(await handle(current), { accepted: true, authoritative: true, error: '' });
    assert.deepEqual(await handle(older), { accepted: true, authoritative: false, error: '' });
    assert.deepEqual(await handle(notStored), { accepted: true, authoritative: false, error: '' });
    const stranger = group(['wss://evil.example'], newKeys(), now + 10);
    await store.save(stranger);
    const refused = await handle(stranger);
    assert.equal(refused.accepted, false);
    assert.match(refused.error, /^restricted:/);
    assert.deepEqual(await call(client, 'findAuthoritativeConfig', {}), {
      config: { relays: ['wss://b.example', 'wss://c.example'] },
      found: true,
      sourceEventId: current.id,
      sourceTimestamp: current.created_at,
    });
    assert.deepEqual(await call(client, 'getRelays', {}), { relays: ['wss://b.example', 'wss://c.example'] });
  });

  it("the relay's client: ready, the configuration in force, status, no endpoints", async () => {
    const relayGroup = new GrpcRelayGroupSync({
      address: server.address,
      security: { token: TOKEN },
      identity: { pubkey: admin.pk },
      store,
      connectTimeoutMs: 5000,
    });
    try {
      await relayGroup.start();
      assert.deepEqual((await relayGroup.authoritative())?.relays, ['wss://b.example', 'wss://c.example']);
      assert.deepEqual(await relayGroup.status(), {
        nodeId: admin.pk,
        currentSerial: await store.lastSerial(),
        peers: [],
      });
      assert.deepEqual(relayGroup.paths, []);
      assert.equal((await relayGroup.handleHttp()).status, 404);
      relayGroup.notifyNewEvent();
    } finally {
      await relayGroup.stop();
    }
  });
});

describe("the relay's client when orly-sync-relaygroup is not there", () => {
  it('start() gives up after its timeout, naming the service', async () => {
    const relayGroup = new GrpcRelayGroupSync({
      address: `127.0.0.1:${await freePort()}`,
      connectTimeoutMs: 500,
    });
    try {
      await assertStartGivesUp(relayGroup, 'orly-sync-relaygroup');
      await assert.rejects(relayGroup.status());
    } finally {
      await relayGroup.stop();
    }
  });
});
