/**
 * Against a real strfry (only with ORLY_BENCH_STRFRY=/path/to/strfry; skipped otherwise):
 *
 * Interop, signed events, 1% differing each way, both directions:
 *  - `orly sync <strfry> --dir both` from our store to a strfry relay;
 *  - `strfry sync <our relay> --dir both` from a strfry store to our relay;
 *  each checked afterwards by `orly sync --dir none` across the two stores (have 0, need 0).
 *
 * Performance, the sync-1m data (1,000,000 vs 1,000,000 events, 5,000 differing each way):
 * `orly sync --dir none --frame-size-limit 60000` against strfry and against our relay, each
 * with the filter {} (strfry answers from its stored negentropy tree) and {"kinds":[1]} (the
 * same events; strfry builds a sorted in-memory list per NEG-OPEN): round trips, bytes on the
 * wire and the relay process's CPU seconds, measured in the same run.
 */
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from './dataset.js';
import { importDataset, makeDataDir, RelayProcess } from './relay-process.js';
import { runStrfry, STRFRY_BIN, StrfryRelay } from './strfry-process.js';
import { prepareSync1m, SYNC1M_CACHE_DIR } from './sync-1m-scenario.js';
import { runOrlySync, syncSummary } from './sync-scenario.js';

export interface PeerRun {
  relay: 'strfry' | 'orly';
  filter: string;
  /** Events on the relay. */
  events: number;
  rounds: number;
  bytesUp: number;
  bytesDown: number;
  have: number;
  need: number;
  relayCpuSeconds: number;
}

export interface StrfryResult {
  interopEvents: number;
  interopDiffering: number;
  orlyToStrfry: string;
  strfryToOrly: string;
  runs: PeerRun[];
}

function check(label: string, condition: boolean, detail: string): void {
  if (!condition) throw new Error(`${label}: ${detail}`);
}

async function orlySyncOk(
  url: string,
  dataDir: string,
  args: string[],
): Promise<ReturnType<typeof syncSummary> & { seconds: number }> {
  const run = await runOrlySync(url, dataDir, args);
  if (run.code !== 0) throw new Error(`orly sync ${args.join(' ')} failed:\n${run.stderr.slice(-1500)}`);
  return { ...syncSummary(run.stderr), seconds: run.seconds };
}

/** One measured `orly sync --dir none` against a relay process: the PeerRun of it. */
async function measuredRun(
  relay: PeerRun['relay'],
  url: string,
  cpu: () => number,
  localDir: string,
  filter: string,
  events: number,
): Promise<PeerRun> {
  const before = cpu();
  const s = await orlySyncOk(url, localDir, [
    '--dir',
    'none',
    '--frame-size-limit',
    '60000',
    '--filter',
    filter,
  ]);
  return {
    relay,
    filter,
    events,
    rounds: s.rounds,
    bytesUp: s.up,
    bytesDown: s.down,
    have: s.have,
    need: s.need,
    relayCpuSeconds: Math.round((cpu() - before) * 100) / 100,
  };
}

/**
 * Signed events, 1% differing each way: reconciliation measured against both relays (twice
 * each: a fresh process, then warm), then a real sync in both directions, each checked
 * afterwards; throws when a side ends up different.
 */
async function interop(dataset: Dataset): Promise<Omit<StrfryResult, 'runs'> & { runs: PeerRun[] }> {
  const lines = readFileSync(dataset.file, 'utf8').trimEnd().split('\n');
  const size = Math.min(100_000, lines.length - 1000);
  const diff = Math.floor(size / 100);
  const work = makeDataDir();
  const runs: PeerRun[] = [];
  try {
    const localFile = join(work, 'local.jsonl');
    const remoteFile = join(work, 'remote.jsonl');
    writeFileSync(localFile, `${lines.slice(0, size).join('\n')}\n`);
    writeFileSync(remoteFile, `${lines.slice(diff, size + diff).join('\n')}\n`);
    // Our local store and relay, strfry's relay and local store: local = [0, size), remote = [diff, size + diff).
    const ours = join(work, 'orly-local');
    const ourRelayDir = join(work, 'orly-remote');
    const theirs = join(work, 'strfry-remote');
    const theirLocal = join(work, 'strfry-local');
    console.log(`  importing ${size} signed events into four stores ...`);
    const imported = await Promise.all([
      importDataset(ours, localFile),
      runStrfry(theirs, ['import'], { stdinFile: remoteFile }),
    ]);
    const imported2 = await Promise.all([
      importDataset(ourRelayDir, remoteFile),
      runStrfry(theirLocal, ['import'], { stdinFile: localFile }),
    ]);
    for (const r of [...imported, ...imported2]) check('import', r.code === 0, r.output.slice(-500));

    const strfry = await StrfryRelay.start(theirs, 'strfry-interop');
    let relay: RelayProcess | undefined;
    try {
      relay = await RelayProcess.start({
        label: 'strfry-interop-orly',
        dataDir: ourRelayDir,
        env: { ORLY_NEGENTROPY_ENABLED: 'true' },
      });
      const ourRelay = relay;
      for (let k = 0; k < 2; k++) {
        runs.push(await measuredRun('strfry', strfry.url, () => strfry.cpu(), ours, '{}', size));
        runs.push(await measuredRun('orly', ourRelay.url, () => ourRelay.cpu(), ours, '{}', size));
      }
      for (const r of runs)
        check(
          `reconcile against ${r.relay}`,
          r.have === diff && r.need === diff,
          `have ${r.have} need ${r.need}`,
        );

      // 1. Our client, strfry's relay.
      const first = await orlySyncOk(strfry.url, ours, ['--dir', 'both']);
      check(
        'orly sync -> strfry',
        first.have === diff && first.need === diff,
        `have ${first.have} need ${first.need}`,
      );
      const after = await orlySyncOk(strfry.url, ours, ['--dir', 'none']);
      check(
        'orly sync -> strfry, after',
        after.have === 0 && after.need === 0,
        `have ${after.have} need ${after.need}`,
      );

      // 2. strfry's client, our relay.
      const run = await runStrfry(theirLocal, ['sync', ourRelay.url, '--dir', 'both']);
      check('strfry sync -> orly', run.code === 0, run.output.slice(-1500));
    } finally {
      await relay?.stop();
      await strfry.stop();
    }
    // Compare the two stores of direction 2 through strfry's responder: nothing may differ any more.
    const strfry2 = await StrfryRelay.start(theirLocal, 'strfry-interop-2');
    try {
      const after = await orlySyncOk(strfry2.url, ourRelayDir, ['--dir', 'none']);
      check(
        'strfry sync -> orly, after',
        after.have === 0 && after.need === 0,
        `have ${after.have} need ${after.need}`,
      );
    } finally {
      await strfry2.stop();
    }
    return {
      interopEvents: size,
      interopDiffering: diff,
      orlyToStrfry: `orly sync --dir both against strfry: have ${diff} / need ${diff}, then have 0 / need 0`,
      strfryToOrly: 'strfry sync --dir both against our relay, then have 0 / need 0 between the two stores',
      runs,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** strfry's database of the sync-1m relay side (cached next to the other 1M data). */
async function strfry1m(relayFile: string): Promise<string> {
  const dir = join(SYNC1M_CACHE_DIR, 'strfry');
  const marker = join(dir, 'complete');
  if (existsSync(marker)) return dir;
  rmSync(dir, { recursive: true, force: true });
  console.log('  importing 1,000,000 events into strfry (cached for later runs) ...');
  const run = await runStrfry(dir, ['import', '--no-verify'], { stdinFile: relayFile, timeoutMs: 1_200_000 });
  if (run.code !== 0) throw new Error(`strfry import failed: ${run.output.slice(-1000)}`);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return dir;
}

const FILTERS = ['{}', '{"kinds":[1]}'];

async function performance1m(): Promise<PeerRun[]> {
  const cached = await prepareSync1m();
  const strfryDir = await strfry1m(cached.relayFile);
  const localDir = makeDataDir();
  const relayDir = makeDataDir();
  cpSync(cached.localDir, localDir, { recursive: true });
  cpSync(cached.relayDir, relayDir, { recursive: true });
  const runs: PeerRun[] = [];
  const measure = async (name: PeerRun['relay'], url: string, cpu: () => number): Promise<void> => {
    for (const filter of FILTERS) runs.push(await measuredRun(name, url, cpu, localDir, filter, 1_000_000));
  };
  try {
    const strfry = await StrfryRelay.start(strfryDir, 'strfry-1m');
    try {
      await measure('strfry', strfry.url, () => strfry.cpu());
    } finally {
      await strfry.stop();
    }
    const relay = await RelayProcess.start({
      label: 'strfry-1m-orly',
      dataDir: relayDir,
      env: { ORLY_NEGENTROPY_ENABLED: 'true', ORLY_NEGENTROPY_MAX_RECORDS: '2000000' },
    });
    try {
      await measure('orly', relay.url, () => relay.cpu());
    } finally {
      await relay.stop();
    }
  } finally {
    rmSync(localDir, { recursive: true, force: true });
    rmSync(relayDir, { recursive: true, force: true });
  }
  return runs;
}

export async function strfryScenario(dataset: Dataset): Promise<StrfryResult | undefined> {
  if (!STRFRY_BIN) return undefined;
  const result = await interop(dataset);
  return { ...result, runs: [...result.runs, ...(await performance1m())] };
}
