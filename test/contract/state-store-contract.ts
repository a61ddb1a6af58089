/**
 * The StateStore contract (getState, putState, listState): set, overwrite and delete; several
 * entries in one put; listing by prefix in UTF-8 byte order, paged with `after`, at most `limit`;
 * unicode values and the exact size limits; bad input rejected (naming the argument) without
 * changing anything; and, for stores with a database on disk, the state surviving a close and
 * reopen of the store (`durability`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StateStore } from '../../src/store/event-store.js';
import { type ContractFactory, type ContractStore, withStore } from './contract-kit.js';

export interface ReopenableStore<S> extends ContractStore<S> {
  /** Closes the store (and whatever serves it) and opens it again over the same data: the new store. */
  reopen(): Promise<S>;
}

export type ReopenFactory<S> = () => Promise<ReopenableStore<S>>;

/** Every entry with `prefix`, read in pages of `page` through `after`. */
async function listAll(store: StateStore, prefix: string, page: number): Promise<Array<[string, string]>> {
  const all: Array<[string, string]> = [];
  for (;;) {
    const next = await store.listState(prefix, page, all.at(-1)?.[0]);
    assert.ok(next.length <= page, `at most ${page} entries`);
    all.push(...next);
    if (next.length < page) return all;
  }
}

export function registerStateStoreContract(
  name: string,
  factory: ContractFactory<StateStore>,
  durability: ReopenFactory<StateStore> | { readonly skip: string },
): void {
  describe(`StateStore contract: ${name}`, () => {
    test(
      'get, put, overwrite, delete',
      withStore(factory, async (store) => {
        assert.equal(await store.getState('relay:name'), undefined);
        await store.putState([['relay:name', 'first']]);
        assert.equal(await store.getState('relay:name'), 'first');
        await store.putState([['relay:name', 'second']]);
        assert.equal(await store.getState('relay:name'), 'second');
        await store.putState([['relay:name', undefined]]);
        assert.equal(await store.getState('relay:name'), undefined);
        await store.putState([['missing', undefined]]); // deleting a missing key is no error
        await store.putState([]);
        await store.putState([['empty', '']]);
        assert.equal(await store.getState('empty'), '', 'an empty value is a value');
        assert.deepEqual(await store.listState('', 10), [['empty', '']]);
      }),
    );

    test(
      'several entries in one put: sets and deletes together, the last of a repeated key wins',
      withStore(factory, async (store) => {
        await store.putState([
          ['ban:a', '1'],
          ['ban:b', '2'],
          ['ban:c', '3'],
        ]);
        await store.putState([
          ['ban:a', undefined],
          ['ban:d', '4'],
          ['ban:b', 'x'],
          ['ban:b', 'y'],
          ['ban:e', '5'],
          ['ban:e', undefined],
        ]);
        assert.deepEqual(await store.listState('ban:', 100), [
          ['ban:b', 'y'],
          ['ban:c', '3'],
          ['ban:d', '4'],
        ]);
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.putState([[`c:${i}`, `${i}`]])));
        assert.equal((await store.listState('c:', 100)).length, 20, 'concurrent puts all commit');
      }),
    );

    test(
      'listState: only the prefix, in UTF-8 byte order',
      withStore(factory, async (store) => {
        const keys = ['acl:ban:b', 'acl:ban:a', 'acl:bans', 'acl:ban', 'acl:allow:x', 'ac', 'acm'];
        // Byte order differs from JavaScript's UTF-16 order above U+FFFF: U+E000 < U+1F600 in UTF-8.
        const unicode = ['u:😀', 'u:\uE000', 'u:é', 'u:z', 'u:Z', 'u:é:1'];
        await store.putState([...keys, ...unicode].map((k) => [k, `v(${k})`] as const));
        const list = async (prefix: string) => (await store.listState(prefix, 100)).map(([k]) => k);
        assert.deepEqual(await list('acl:ban:'), ['acl:ban:a', 'acl:ban:b']);
        assert.deepEqual(await list('acl:ban'), ['acl:ban', 'acl:ban:a', 'acl:ban:b', 'acl:bans']);
        assert.deepEqual(await list('u:'), ['u:Z', 'u:z', 'u:é', 'u:é:1', 'u:\uE000', 'u:😀']);
        assert.deepEqual(await list('u:é'), ['u:é', 'u:é:1']);
        assert.deepEqual(await list('nothing'), []);
        const all = await store.listState('', 100);
        assert.deepEqual(
          all.map(([k]) => k),
          [...keys, ...unicode].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
        );
        for (const [k, v] of all) assert.equal(v, `v(${k})`);
      }),
    );

    test(
      'listState pages with after (exclusive) and respects the limit',
      withStore(factory, async (store) => {
        const keys = Array.from({ length: 25 }, (_, i) => `n:${String(i).padStart(2, '0')}`);
        await store.putState([...keys.map((k) => [k, k] as const), ['m:before', '-'], ['o:after', '-']]);
        const first = await store.listState('n:', 10);
        assert.deepEqual(
          first.map(([k]) => k),
          keys.slice(0, 10),
        );
        const second = await store.listState('n:', 10, first.at(-1)![0]);
        assert.deepEqual(
          second.map(([k]) => k),
          keys.slice(10, 20),
        );
        const third = await store.listState('n:', 10, second.at(-1)![0]);
        assert.deepEqual(
          third.map(([k]) => k),
          keys.slice(20),
        );
        assert.deepEqual(await store.listState('n:', 10, third.at(-1)![0]), []);
        assert.deepEqual(
          (await listAll(store, 'n:', 7)).map(([k]) => k),
          keys,
        );
        // `after` need not be a stored key, nor have the prefix.
        assert.deepEqual(
          (await store.listState('n:', 3, 'n:105')).map(([k]) => k),
          ['n:11', 'n:12', 'n:13'],
        );
        assert.deepEqual(
          (await store.listState('n:', 2, 'a')).map(([k]) => k),
          ['n:00', 'n:01'],
        );
        assert.deepEqual(await store.listState('n:', 2, 'z'), []);
        assert.deepEqual(
          (await store.listState('n:', 1, '')).map(([k]) => k),
          ['n:00'],
        );
        assert.equal((await store.listState('', 10_000)).length, 27);
      }),
    );

    test(
      'unicode values and the exact size limits (UTF-8 bytes, not characters)',
      withStore(factory, async (store) => {
        const text = 'naïve — 日本語 — 😀🏳️‍🌈 — \u0000 — \n"quoted"\\';
        const largestKey = 'é'.repeat(256); // 512 bytes
        const largestValue = 'é'.repeat(32 * 1024); // 65,536 bytes
        await store.putState([
          ['text', text],
          [largestKey, 'largest key'],
          ['large', largestValue],
          ['ключ:😀', 'unicode key'],
        ]);
        assert.equal(await store.getState('text'), text);
        assert.equal(await store.getState(largestKey), 'largest key');
        assert.equal(await store.getState('large'), largestValue);
        assert.equal(await store.getState('ключ:😀'), 'unicode key');
        assert.deepEqual(await store.listState('ключ:', 5), [['ключ:😀', 'unicode key']]);
        assert.deepEqual(await store.listState('large', 1), [['large', largestValue]]);
      }),
    );

    test(
      'a page of large values holds all `limit` entries',
      withStore(factory, async (store) => {
        const value = (i: number) => `${i}:`.padEnd(60 * 1024, 'v');
        const keys = Array.from({ length: 40 }, (_, i) => `big:${String(i).padStart(2, '0')}`);
        for (let i = 0; i < keys.length; i += 10)
          await store.putState(keys.slice(i, i + 10).map((k, j) => [k, value(i + j)] as const));
        const page = await store.listState('big:', 40);
        assert.equal(page.length, 40);
        for (const [i, [k, v]] of page.entries()) {
          assert.equal(k, keys[i]);
          assert.equal(v, value(i));
        }
        assert.equal((await store.listState('big:', 35, keys[2])).length, 35);
      }),
    );

    test(
      'bad input is rejected, naming the argument, and changes nothing',
      withStore(factory, async (store) => {
        await store.putState([['kept', 'before']]);
        const rejects = (call: () => Promise<unknown>, pattern: RegExp) => assert.rejects(call(), pattern);
        await rejects(() => store.getState(''), /getState: key is empty/);
        await rejects(() => store.getState('k'.repeat(513)), /getState: key is 513 bytes, more than 512/);
        await rejects(() => store.getState('é'.repeat(257)), /key is 514 bytes/);
        await rejects(() => store.getState('\uD800'), /key is not well-formed Unicode/);
        await rejects(() => store.putState([['', 'x']]), /putState: entries\[0\]\.key is empty/);
        await rejects(() => store.putState([['k'.repeat(513), 'x']]), /entries\[0\]\.key is 513 bytes/);
        await rejects(
          () => store.putState([['big', 'é'.repeat(32 * 1024) + 'a']]),
          /putState: entries\[0\]\.value is 65537 bytes, more than 65536/,
        );
        await rejects(() => store.putState([['k', 'bad \uDC00']]), /entries\[0\]\.value is not well-formed/);
        // One bad entry: none of the put is applied.
        await rejects(
          () =>
            store.putState([
              ['kept', 'after'],
              ['new', 'x'],
              ['', 'y'],
            ]),
          /entries\[2\]\.key is empty/,
        );
        for (const limit of [0, -1, 10_001, 1.5, Number.NaN])
          await rejects(
            () => store.listState('', limit),
            /listState: limit is .*, not an integer from 1 to 10000/,
          );
        await rejects(() => store.listState('p'.repeat(513), 1), /listState: prefix is 513 bytes/);
        await rejects(() => store.listState('', 1, 'a'.repeat(513)), /listState: after is 513 bytes/);
        assert.deepEqual(await store.listState('', 10), [['kept', 'before']]);
        assert.equal((await store.listState('', 10_000)).length, 1, 'limit 10,000 is allowed');
      }),
    );

    if (typeof durability !== 'function') {
      test('state survives closing and reopening the store', { skip: durability.skip }, () => {});
      return;
    }
    test('state survives closing and reopening the store', async () => {
      const reopenable = await durability();
      try {
        const store = reopenable.store;
        await store.putState([
          ['acl:ban:a', 'spam'],
          ['acl:ban:b', 'abuse'],
          ['relay:name', 'ORLY 😀'],
        ]);
        await store.putState([['acl:ban:a', undefined]]);
        const reopened = await reopenable.reopen();
        assert.equal(await reopened.getState('relay:name'), 'ORLY 😀');
        assert.equal(await reopened.getState('acl:ban:a'), undefined);
        assert.deepEqual(await reopened.listState('acl:', 10), [['acl:ban:b', 'abuse']]);
        await reopened.putState([['relay:name', 'renamed']]);
        assert.equal(await reopened.getState('relay:name'), 'renamed');
      } finally {
        await reopenable.cleanup();
      }
    });
  });
}
