/**
 * ACL mode "curating" on its own (src/acl/curating/), over the test MemoryEventStore with an
 * injected clock: the config event's tags, every write rule and its order, the UTC day
 * rollover, escalating IP blocks from distinct pubkeys, the counters written at most once a
 * second and read back by a new instance, the sweep and the bounds, the NIP-86 methods (params
 * checked before any change) and the state read back from the store.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CuratingAccessControl,
  type CuratingOptions,
} from '../../src/acl/curating/curating-access-control.js';
import {
  isConfigEvent,
  KindAllowList,
  MAX_KINDS,
  parseCuratingConfig,
} from '../../src/acl/curating/curating-config.js';
import { MAX_UNCLASSIFIED, RETENTION_DAYS } from '../../src/acl/curating/curating-counters.js';
import { OFFENSE_MEMORY_SECONDS } from '../../src/acl/curating/curating-state.js';
import type { NostrEvent } from '../../src/protocol/event.js';
import { hexOf, newKey, signedEvent, type TestKey, unsignedEvent } from '../helpers/events.js';
import { MemoryEventStore } from '../helpers/memory-store.js';
import { waitFor } from '../helpers/wait.js';

const owner = newKey();
const admin = newKey();
const alice = newKey();
const bob = newKey();
const IP = '203.0.113.9';
const from = (ip = IP) => ({ authed: new Set<string>(), ip });
const HOUR = 3600_000;
/** Noon UTC, 15 January 2025. */
const NOON = Date.UTC(2025, 0, 15, 12);

function configEvent(by: TestKey, tags: string[][], createdAt = 1_736_942_400): NostrEvent {
  return signedEvent(by, {
    kind: 30078,
    tags: [['d', 'curating-config'], ...tags],
    created_at: createdAt,
  });
}

let notes = 0;
/** A distinct kind-1 (or `kind`) event of `pubkey`. */
const note = (pubkey: string, kind = 1) => unsignedEvent(pubkey, { kind, content: `n${++notes}` });

class Clock {
  constructor(public ms = NOON) {}
  readonly now = () => this.ms;
}

async function curating(
  options: { store?: MemoryEventStore; clock?: Clock; config?: string[][] } = {},
): Promise<{
  acl: CuratingAccessControl;
  store: MemoryEventStore;
  clock: Clock;
  call: (method: string, ...params: unknown[]) => ReturnType<CuratingAccessControl['manage']>;
  result: (method: string, ...params: unknown[]) => Promise<unknown>;
}> {
  const store = options.store ?? new MemoryEventStore();
  const clock = options.clock ?? new Clock();
  const acl = await CuratingAccessControl.create({
    store,
    owners: [owner.pubkey],
    admins: [admin.pubkey],
    now: clock.now,
  } satisfies CuratingOptions);
  if (options.config !== undefined) {
    const event = configEvent(owner, options.config);
    assert.equal(acl.checkEvent(event, from()), undefined);
    await store.save(event);
    acl.eventStored(event);
    await waitConfigured(acl);
  }
  const call = (method: string, ...params: unknown[]) => acl.manage(method, params, owner.pubkey);
  const result = async (method: string, ...params: unknown[]) => {
    const outcome = await call(method, ...params);
    assert.ok('result' in outcome, `${method}: ${JSON.stringify(outcome)}`);
    return outcome.result;
  };
  return { acl, store, clock, call, result };
}

async function waitConfigured(acl: CuratingAccessControl): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const outcome = await acl.manage('isconfigured', [], owner.pubkey);
    if ('result' in outcome && outcome.result === true) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail('the config was not applied');
}

describe('curating config (tags)', () => {
  it('defaults, every tag, and the allow list', () => {
    const empty = parseCuratingConfig([['d', 'curating-config']]);
    assert.deepEqual(empty, {
      ok: true,
      config: {
        dailyLimit: 50,
        ipDailyLimit: 500,
        firstBanHours: 1,
        secondBanHours: 168,
        kinds: [],
        ranges: [],
        categories: [],
      },
    });
    const full = parseCuratingConfig([
      ['daily_limit', '10'],
      ['ip_daily_limit', '20'],
      ['first_ban_hours', '2'],
      ['second_ban_hours', '48'],
      ['kind_category', 'social'],
      ['kind_category', 'DM'],
      ['kind_range', '30000-30009'],
      ['kind', '9735'],
      ['kind', '1984'],
      ['kind', '9735'],
      ['alt', 'ignored'],
    ]);
    assert.ok(full.ok);
    assert.deepEqual(full.config, {
      dailyLimit: 10,
      ipDailyLimit: 20,
      firstBanHours: 2,
      secondBanHours: 48,
      kinds: [1984, 9735],
      ranges: [{ start: 30000, end: 30009 }],
      categories: ['social', 'dm'],
    });
    const allow = new KindAllowList(full.config);
    for (const kind of [0, 1, 7, 10002, 4, 1059, 30000, 30009, 1984, 9735])
      assert.ok(allow.allows(kind), `${kind}`);
    for (const kind of [2, 5, 29999, 30010, 30023]) assert.ok(!allow.allows(kind), `${kind}`);
    assert.equal(allow.empty, false);
    assert.equal(new KindAllowList({ kinds: [], ranges: [], categories: [] }).empty, true);
  });

  it('refuses what is not a valid value, naming it', () => {
    for (const [tags, problem] of [
      [[['daily_limit', '0']], /daily_limit must be an integer from 1 to 1000000, not "0"/],
      [[['daily_limit', '-3']], /daily_limit must be an integer/],
      [[['daily_limit', '1.5']], /daily_limit must be an integer/],
      [[['daily_limit']], /daily_limit must be an integer from 1 to 1000000, not nothing/],
      [[['ip_daily_limit', '10000001']], /ip_daily_limit must be an integer from 1 to 10000000/],
      [[['first_ban_hours', '8761']], /first_ban_hours must be an integer from 1 to 8760/],
      [[['second_ban_hours', 'x']], /second_ban_hours/],
      [
        [
          ['daily_limit', '5'],
          ['daily_limit', '6'],
        ],
        /daily_limit is given more than once/,
      ],
      [[['kind', '65536']], /kind must be an integer from 0 to 65535/],
      [[['kind', 'one']], /kind must be an integer/],
      [[['kind_range', '10-5']], /kind_range must be "start-end"/],
      [[['kind_range', '1-70000']], /kind_range must be "start-end"/],
      [[['kind_range', '7']], /kind_range must be "start-end"/],
      [[['kind_category', 'memes']], /kind_category "memes" is not one of social, dm, longform/],
      [Array.from({ length: MAX_KINDS + 1 }, (_, i) => ['kind', String(i)]), /more than 1000 kind tags/],
      [Array.from({ length: 101 }, () => ['kind_range', '1-2']), /more than 100 kind_range tags/],
    ] as const) {
      const parsed = parseCuratingConfig(tags as unknown as string[][]);
      assert.ok(!parsed.ok, JSON.stringify(tags).slice(0, 80));
      assert.match(parsed.problem, problem);
    }
  });

  it('is a kind 30078 with d=curating-config', () => {
    assert.ok(isConfigEvent({ kind: 30078, tags: [['d', 'curating-config']] }));
    assert.ok(!isConfigEvent({ kind: 30078, tags: [['d', 'other']] }));
    assert.ok(!isConfigEvent({ kind: 30078, tags: [] }));
    assert.ok(!isConfigEvent({ kind: 1, tags: [['d', 'curating-config']] }));
  });
});

describe('curating decisions', () => {
  it('refuses everything until an owner or admin publishes a valid config, applied once stored', async () => {
    const { acl, store, result } = await curating();
    assert.match(
      String(acl.checkEvent(note(alice.pubkey), from())),
      /^blocked: curating mode not configured: an owner or admin must publish a kind 30078 "curating-config" event$/,
    );
    assert.match(String(acl.checkEvent(signedEvent(owner), from())), /not configured/, 'even owners');
    // A stranger's config event is judged like any other event.
    const forged = configEvent(alice, [['kind', '1']]);
    assert.match(String(acl.checkEvent(forged, from())), /not configured/);
    acl.eventStored(forged);
    const invalid = configEvent(owner, [['daily_limit', 'lots']]);
    assert.match(String(acl.checkEvent(invalid, from())), /^invalid: curating config: daily_limit must be/);
    const valid = configEvent(admin, [
      ['kind', '1'],
      ['daily_limit', '3'],
    ]);
    assert.equal(acl.checkEvent(valid, from()), undefined, 'accepted');
    assert.equal(await result('isconfigured'), false, 'not applied before it is stored');
    await store.save(valid);
    acl.eventStored(valid);
    await waitConfigured(acl);
    const config = (await result('getcuratingconfig')) as Record<string, unknown>;
    assert.equal(config.daily_limit, 3);
    assert.deepEqual(config.allowed_kinds, [1]);
    assert.equal(config.config_event_id, valid.id);
    assert.equal(config.config_pubkey, admin.pubkey);
    assert.equal(config.is_configured, true);
    assert.equal(acl.checkEvent(note(alice.pubkey), from()), undefined);
    // An invalid one later is refused and the config in force stays.
    assert.match(String(acl.checkEvent(configEvent(owner, [['kind_range', '9-1']]), from())), /^invalid: /);
    // An older config (by created_at) than the one in force does not replace it.
    const older = configEvent(owner, [['kind', '7']], valid.created_at - 10);
    acl.eventStored(older);
    const newer = configEvent(owner, [['kind', '7']], valid.created_at + 10);
    acl.eventStored(newer);
    for (
      let i = 0;
      i < 20 &&
      ((await result('getcuratingconfig')) as { config_event_id: string }).config_event_id !== newer.id;
      i++
    )
      await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(((await result('getcuratingconfig')) as { allowed_kinds: number[] }).allowed_kinds, [7]);
    assert.match(
      String(acl.checkEvent(note(alice.pubkey), from())),
      /^blocked: kind 1 is not in the allow list$/,
    );
    await acl.close();
  });

  it('an empty allow list allows nothing, and says so', async () => {
    const { acl } = await curating({ config: [] });
    assert.equal(
      acl.checkEvent(note(alice.pubkey), from()),
      'blocked: kind 1 is not in the allow list (the curating config allows no kinds)',
    );
    assert.equal(acl.checkEvent(signedEvent(owner), from()), undefined, 'owners still publish');
    await acl.close();
  });

  it('first rule that applies wins', async () => {
    const { acl, call, clock } = await curating({
      config: [
        ['kind', '1'],
        ['daily_limit', '1'],
      ],
    });
    const spam = note(owner.pubkey);
    await call('markspam', spam.id, owner.pubkey, 'oops');
    assert.equal(acl.checkEvent(spam, from()), 'blocked: event is flagged as spam', 'even an owner’s');
    assert.equal(acl.checkEvent(note(admin.pubkey, 5), from()), undefined, 'admins ignore the kind list');
    await call('blacklistpubkey', bob.pubkey, 'spammer');
    assert.equal(acl.checkEvent(note(bob.pubkey), from()), 'blocked: pubkey is blacklisted');
    assert.equal(acl.checkEvent(note(alice.pubkey, 5), from()), 'blocked: kind 5 is not in the allow list');
    assert.equal(acl.checkEvent(note(alice.pubkey), from()), undefined);
    // alice's second event today trips the limit: her IP is blocked an hour.
    assert.equal(
      await acl.checkEvent(note(alice.pubkey), from()),
      'rate-limited: at most 1 events per day for unclassified users',
    );
    const until = new Date(clock.ms + HOUR).toISOString();
    assert.equal(
      acl.checkEvent(note(alice.pubkey), from()),
      `blocked: your IP address is blocked until ${until}`,
    );
    assert.equal(
      acl.checkEvent(note(bob.pubkey), from()),
      'blocked: pubkey is blacklisted',
      'blacklist first',
    );
    // Trusted: past the daily limit, not past the IP block nor the kind list.
    await call('trustpubkey', alice.pubkey, 'friend');
    assert.match(String(acl.checkEvent(note(alice.pubkey), from())), /IP address is blocked/);
    assert.equal(acl.checkEvent(note(alice.pubkey), from('198.51.100.1')), undefined);
    assert.match(String(acl.checkEvent(note(alice.pubkey, 5), from('198.51.100.1'))), /kind 5/);
    // Trusting removes the blacklisting and the other way round.
    await call('trustpubkey', bob.pubkey);
    assert.deepEqual(await call('listblacklistedpubkeys'), { result: [] });
    await call('blacklistpubkey', alice.pubkey);
    assert.deepEqual(
      ((await call('listtrustedpubkeys')) as { result: { pubkey: string }[] }).result.map((e) => e.pubkey),
      [bob.pubkey],
    );
    await acl.close();
  });

  it('levels, and blacklisted authors hidden from everyone but owners and admins', async () => {
    const { acl, call, clock } = await curating({
      config: [
        ['kind', '1'],
        ['daily_limit', '1'],
      ],
    });
    assert.equal(acl.accessLevel(owner.pubkey, IP), 'owner');
    assert.equal(acl.accessLevel(admin.pubkey, IP), 'admin');
    assert.equal(acl.accessLevel(alice.pubkey, IP), 'write');
    assert.equal(acl.accessLevel(undefined, IP), 'write');
    assert.equal(acl.hiddenAuthors({ authed: new Set() }), undefined);
    const before = acl.readRestrictions();
    await call('blacklistpubkey', bob.pubkey);
    assert.equal(acl.accessLevel(bob.pubkey, '::1'), 'banned');
    assert.notEqual(acl.readRestrictions().hidden, before.hidden, 'a new set after a change');
    assert.equal(
      acl.readRestrictions().hidden,
      acl.readRestrictions().hidden,
      'the same set while unchanged',
    );
    assert.deepEqual([...(acl.hiddenAuthors({ authed: new Set([alice.pubkey]) }) ?? [])], [bob.pubkey]);
    assert.equal(acl.hiddenAuthors({ authed: new Set([alice.pubkey, admin.pubkey]) }), undefined);
    acl.checkEvent(note(alice.pubkey), from());
    await acl.checkEvent(note(alice.pubkey), from());
    assert.equal(acl.accessLevel(undefined, IP), 'blocked');
    assert.equal(acl.accessLevel(owner.pubkey, IP), 'owner', 'owners keep their level');
    clock.ms += HOUR;
    assert.equal(acl.accessLevel(undefined, IP), 'write', 'the block ended');
    await acl.close();
  });

  it('counts per UTC day', async () => {
    const clock = new Clock(Date.UTC(2025, 0, 15, 23, 59, 58));
    const { acl } = await curating({
      clock,
      config: [
        ['kind', '1'],
        ['daily_limit', '2'],
        ['ip_daily_limit', '100'],
      ],
    });
    assert.equal(acl.checkEvent(note(alice.pubkey), from('198.51.100.1')), undefined);
    assert.equal(acl.checkEvent(note(alice.pubkey), from('198.51.100.2')), undefined);
    assert.match(
      String(await acl.checkEvent(note(alice.pubkey), from('198.51.100.3'))),
      /^rate-limited: at most 2/,
    );
    clock.ms = Date.UTC(2025, 0, 16, 0, 0, 0);
    assert.equal(acl.checkEvent(note(alice.pubkey), from('198.51.100.4')), undefined, 'a new day');
    assert.equal(acl.checkEvent(note(alice.pubkey), from('198.51.100.4')), undefined);
    assert.match(String(await acl.checkEvent(note(alice.pubkey), from('198.51.100.5'))), /^rate-limited: /);
    await acl.close();
  });

  it('blocks an IP once per distinct pubkey that trips a limit, the second time longer', async () => {
    const { acl, clock, result } = await curating({
      config: [
        ['kind', '1'],
        ['daily_limit', '2'],
        ['ip_daily_limit', '5'],
        ['first_ban_hours', '1'],
        ['second_ban_hours', '5'],
      ],
    });
    const users = [newKey(), newKey(), newKey(), newKey()].map((k) => k.pubkey);
    for (let i = 0; i < 2; i++) assert.equal(acl.checkEvent(note(users[0]!), from()), undefined);
    assert.match(
      String(await acl.checkEvent(note(users[0]!), from())),
      /^rate-limited: at most 2 events per day/,
    );
    let blocks = (await result('listblockedips')) as Array<Record<string, unknown>>;
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.ip, IP);
    assert.equal(blocks[0]!.expires_at, clock.ms / 1000 + 3600, 'first offense: first_ban_hours');
    assert.match(String(blocks[0]!.reason), /^offense 1: rate-limited/);
    assert.match(String(acl.checkEvent(note(users[1]!), from())), /IP address is blocked/);
    clock.ms += HOUR;
    // The same pubkey again: rate-limited, but not a new offense.
    assert.match(String(await acl.checkEvent(note(users[0]!), from())), /^rate-limited: /);
    assert.deepEqual(await result('listblockedips'), []);
    // Another pubkey trips the IP's limit (5 today: users[0] 2 + users[1] 2 + users[2] 1).
    for (let i = 0; i < 2; i++) assert.equal(acl.checkEvent(note(users[1]!), from()), undefined);
    assert.equal(acl.checkEvent(note(users[2]!), from()), undefined);
    assert.equal(
      await acl.checkEvent(note(users[2]!), from()),
      'rate-limited: at most 5 events per day from one IP address',
    );
    blocks = (await result('listblockedips')) as Array<Record<string, unknown>>;
    assert.equal(blocks[0]!.expires_at, clock.ms / 1000 + 5 * 3600, 'second offense: second_ban_hours');
    assert.match(String(blocks[0]!.reason), /^offense 2: /);
    assert.equal(acl.checkEvent(note(users[3]!), from('198.51.100.7')), undefined, 'other IPs unaffected');
    // unblockip lifts it and forgets the offenses.
    assert.deepEqual(await acl.manage('unblockip', [IP], owner.pubkey), { result: true });
    assert.deepEqual(await result('listblockedips'), []);
    assert.match(
      String(await acl.checkEvent(note(users[3]!), from())),
      /^rate-limited: at most 5 events per day from one IP/,
    );
    blocks = (await result('listblockedips')) as Array<Record<string, unknown>>;
    assert.equal(blocks[0]!.expires_at, clock.ms / 1000 + 3600, 'a first offense again');
    await acl.close();
  });

  it('keeps offenses a week after the block, then forgets them; the sweep drops old blocks and days', async () => {
    const { acl, store, clock } = await curating({
      config: [
        ['kind', '1'],
        ['daily_limit', '1'],
      ],
    });
    acl.checkEvent(note(alice.pubkey), from());
    await acl.checkEvent(note(alice.pubkey), from());
    await acl.close();
    const keys = async (prefix: string) => (await store.listState(prefix, 1000)).map(([k]) => k);
    assert.equal((await keys('acl/curating/blocked-ip/')).length, 1);
    assert.equal((await keys('acl/curating/offense/')).length, 1);
    assert.deepEqual(await keys('acl/curating/count/'), [
      `acl/curating/count/2025-01-15/ip/${IP}`,
      `acl/curating/count/2025-01-15/p/${alice.pubkey}`,
    ]);
    clock.ms += 2 * HOUR;
    let again = await curating({ store, clock });
    assert.equal((await keys('acl/curating/blocked-ip/')).length, 0, 'the expired block is swept at start');
    assert.equal((await keys('acl/curating/offense/')).length, 1, 'its offense is remembered');
    await again.acl.close();
    clock.ms += OFFENSE_MEMORY_SECONDS * 1000 + RETENTION_DAYS * 24 * HOUR;
    again = await curating({ store, clock });
    assert.deepEqual(await keys('acl/curating/offense/'), []);
    assert.deepEqual(await keys('acl/curating/count/'), [], 'days older than 7 are dropped');
    await again.acl.close();
  });
});

describe('curating state', () => {
  it('writes counters at most once a second and on close; a new instance reads them back', async () => {
    const store = new MemoryEventStore();
    let writes = 0;
    const putState = store.putState.bind(store);
    store.putState = async (entries) => {
      writes++;
      return putState(entries);
    };
    const { acl, clock } = await curating({
      store,
      config: [
        ['kind', '1'],
        ['daily_limit', '3'],
      ],
    });
    writes = 0;
    for (let i = 0; i < 2; i++) assert.equal(acl.checkEvent(note(alice.pubkey), from()), undefined);
    assert.equal(acl.checkEvent(note(bob.pubkey), from()), undefined);
    assert.equal(writes, 0, 'no write per event');
    const started = Date.now();
    await waitFor(() => writes > 0, 10_000, 'the counters written');
    assert.ok(Date.now() - started >= 900, 'not before a second');
    assert.equal(writes, 1, 'in one batch');
    assert.equal(acl.checkEvent(note(bob.pubkey), from()), undefined);
    await acl.close();
    assert.equal(writes, 2, 'and the rest at close');
    const again = await curating({ store, clock });
    assert.equal(again.acl.checkEvent(note(alice.pubkey), from()), undefined, 'alice: 3rd today');
    assert.match(String(await again.acl.checkEvent(note(alice.pubkey), from())), /^rate-limited: /);
    assert.deepEqual(await again.result('listunclassifiedusers'), [
      { pubkey: alice.pubkey, event_count: 3, last_event: clock.ms / 1000 },
      { pubkey: bob.pubkey, event_count: 2, last_event: clock.ms / 1000 },
    ]);
    assert.deepEqual(await again.result('listunclassifiedusers', 1), [
      { pubkey: alice.pubkey, event_count: 3, last_event: clock.ms / 1000 },
    ]);
    await again.acl.close();
  });

  it('lists, spam flags, blocks and the config survive in the state; a failed write changes nothing', async () => {
    const { acl, store, clock, call } = await curating({ config: [['kind_category', 'social']] });
    await call('trustpubkey', alice.pubkey, 'friend');
    await call('blacklistpubkey', bob.pubkey, 'spam');
    await call('markspam', 'ab'.repeat(32), null, 'junk');
    await acl.close();
    const again = await curating({ store, clock });
    assert.deepEqual(await again.result('listtrustedpubkeys'), [
      { pubkey: alice.pubkey, note: 'friend', added: clock.ms / 1000 },
    ]);
    assert.deepEqual(await again.result('listblacklistedpubkeys'), [
      { pubkey: bob.pubkey, reason: 'spam', added: clock.ms / 1000 },
    ]);
    assert.deepEqual(await again.result('listspamevents'), [
      { event_id: 'ab'.repeat(32), pubkey: '', reason: 'junk', added: clock.ms / 1000 },
    ]);
    assert.deepEqual(((await again.result('getcuratingconfig')) as { categories: string[] }).categories, [
      'social',
    ]);
    store.putState = async () => {
      throw new Error('disk full');
    };
    await assert.rejects(again.call('trustpubkey', bob.pubkey), /disk full/);
    assert.equal(again.acl.accessLevel(bob.pubkey, IP), 'banned', 'still blacklisted');
    assert.equal(((await again.result('listtrustedpubkeys')) as unknown[]).length, 1);
    await again.acl.close();
  });

  it('applies at start a config stored while it was not following the store', async () => {
    const store = new MemoryEventStore();
    const event = configEvent(owner, [['kind', '1']]);
    await store.save(event);
    const { acl, result } = await curating({ store });
    assert.equal(await result('isconfigured'), true);
    assert.equal(
      ((await result('getcuratingconfig')) as { config_event_id: string }).config_event_id,
      event.id,
    );
    await acl.close();
  });

  it('keeps at most MAX_UNCLASSIFIED unclassified users, the least recent dropped', async () => {
    const { acl, store } = await curating({ config: [['kind', '1']] });
    const first = hexOf(0);
    for (let i = 0; i <= MAX_UNCLASSIFIED; i++)
      acl.checkEvent(unsignedEvent(hexOf(i), { content: `${i}` }), from(''));
    const listed = (await acl.manage('listunclassifiedusers', [1000], owner.pubkey)) as {
      result: { pubkey: string }[];
    };
    assert.equal(listed.result.length, 1000);
    await acl.close();
    // (a prefix naming one key: the memory store sorts what a listing matches)
    const stored = async (pubkey: string) =>
      (await store.listState(`acl/curating/unclassified/${pubkey}`, 1)).length === 1;
    assert.equal(await stored(first), false, 'the least recent was dropped');
    assert.equal(await stored(hexOf(1)), true);
    assert.equal(await stored(hexOf(MAX_UNCLASSIFIED)), true);
  });
});

describe('curating methods', () => {
  it('supportedmethods lists exactly the methods of §7.5; unknown methods are errors', async () => {
    const { acl, result, call } = await curating();
    assert.deepEqual(await result('supportedmethods'), [
      'supportedmethods',
      'trustpubkey',
      'untrustpubkey',
      'listtrustedpubkeys',
      'blacklistpubkey',
      'unblacklistpubkey',
      'listblacklistedpubkeys',
      'listunclassifiedusers',
      'markspam',
      'unmarkspam',
      'listspamevents',
      'deleteevent',
      'getcuratingconfig',
      'listblockedips',
      'unblockip',
      'isconfigured',
      'scanpubkeys',
      'geteventsforpubkey',
      'deleteeventsforpubkey',
    ]);
    const unknown = await call('banpubkey', alice.pubkey);
    assert.ok('error' in unknown && /unknown method: banpubkey/.test(unknown.error));
    const config = (await result('getcuratingconfig')) as Record<string, unknown>;
    assert.equal(config.is_configured, false);
    assert.equal(config.daily_limit, 50);
    assert.equal(config.ip_daily_limit, 500);
    await acl.close();
  });

  it('validates params before changing anything', async () => {
    const { acl, call, result } = await curating();
    for (const [method, params] of [
      ['trustpubkey', ['xyz']],
      ['trustpubkey', [alice.pubkey, 42]],
      ['blacklistpubkey', [alice.pubkey, 'x'.repeat(1001)]],
      ['markspam', ['ab'.repeat(32), 'not-hex']],
      ['markspam', []],
      ['unblockip', ['300.1.1.1']],
      ['listunclassifiedusers', [0]],
      ['listunclassifiedusers', [1001]],
      ['geteventsforpubkey', [alice.pubkey, 501]],
      ['geteventsforpubkey', [alice.pubkey, 10, 10_001]],
      ['geteventsforpubkey', [alice.pubkey, '10']],
      ['deleteeventsforpubkey', []],
      ['deleteevent', ['zz']],
    ] as const) {
      const outcome = await call(method, ...params);
      assert.ok(
        'error' in outcome && outcome.error.startsWith(`${method}: params[`),
        `${method} ${JSON.stringify(outcome)}`,
      );
    }
    assert.deepEqual(await result('listtrustedpubkeys'), []);
    assert.deepEqual(await result('listblacklistedpubkeys'), []);
    assert.deepEqual(await result('listspamevents'), []);
    await acl.close();
  });

  it('reads and removes stored events, bounded', async () => {
    const { acl, store, result } = await curating({ config: [['kind', '1']] });
    const events = Array.from({ length: 7 }, (_, i) =>
      unsignedEvent(alice.pubkey, { content: `e${i}`, created_at: 1_700_000_000 + i }),
    );
    for (const event of events) await store.save(event);
    await store.save(unsignedEvent(bob.pubkey, { content: 'bob' }));
    await store.save(unsignedEvent(owner.pubkey, { content: 'owner' }));
    const page = (await result('geteventsforpubkey', alice.pubkey, 2, 1)) as {
      events: Array<Record<string, unknown>>;
      total: number;
    };
    assert.deepEqual(page, {
      events: [6 - 1, 6 - 2].map((i) => ({
        id: events[i]!.id,
        kind: 1,
        content: `e${i}`,
        created_at: 1_700_000_000 + i,
      })),
      total: 7,
      limit: 2,
      offset: 1,
    });
    // markspam without a pubkey takes the stored event's author.
    await result('markspam', events[0]!.id);
    assert.equal(((await result('listspamevents')) as Array<{ pubkey: string }>)[0]!.pubkey, alice.pubkey);
    assert.equal(await result('deleteevent', events[0]!.id), true);
    assert.equal(await store.getById(events[0]!.id), undefined);
    await result('trustpubkey', bob.pubkey);
    assert.deepEqual(await result('scanpubkeys'), {
      total_pubkeys: 3,
      total_events: 9, // with the owner's config event
      skipped: 2,
      truncated: false,
    });
    assert.deepEqual(await result('listunclassifiedusers'), [
      { pubkey: alice.pubkey, event_count: 6, last_event: 1_700_000_006 },
    ]);
    assert.deepEqual(await result('deleteeventsforpubkey', alice.pubkey), {
      deleted: 6,
      pubkey: alice.pubkey,
      remaining: 0,
    });
    assert.equal((await store.count([{ authors: [bob.pubkey] }])).count, 1);
    await acl.close();
  });
});
