/**
 * The large negentropy scenario: 1,000,000 events on the relay and 1,000,000 in the local store,
 * 5,000 differing each way (the strfry comparison: 60,000-byte client frames, the
 * relay answering with up to 500,000-byte frames as strfry's relay does). `orly sync --dir none`
 * (a separate process) reconciles twice against one relay process; we report round trips,
 * bytes on the wire, the relay's CPU seconds per reconciliation (from /proc) and its RSS.
 *
 * Reconciliation never looks at signatures, so the events are generated unsigned (zero
 * signatures, real ids) and loaded with `orly import --no-verify`: seconds instead of the
 * minutes two million signatures would take. The generated files and the filled data
 * directories are cached under bench-results/cache (keyed by the event format and the store
 * layout), so only the first run pays the ~1-2 minutes of loading.
 */
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeEventId, type NostrEvent, serializeEvent } from '../src/protocol/event.js';
import { RESULTS_DIR } from './paths.js';
import { importDataset, makeDataDir, RelayProcess } from './relay-process.js';
import { Rng } from './rng.js';
import { runOrlySync, syncSummary } from './sync-scenario.js';

const SHARED = 995_000;
const DIFFERING = 5_000;
const SPAN_SECONDS = 180 * 86_400;
/** A fixed "now", so the cached files never change. */
const EPOCH = 1_780_000_000;
/** Bump when the generated events change. */
const FORMAT = 1;
/** Bump with the LMDB layout version (src/store/lmdb/lmdb-store.ts). */
const STORE_LAYOUT = 2;
export const SYNC1M_CACHE_DIR = join(RESULTS_DIR, 'cache', `sync-1m-f${FORMAT}-l${STORE_LAYOUT}`);

export interface Sync1mResult {
  relayEvents: number;
  localEvents: number;
  differingEachWay: number;
  frameSizeLimit: number;
  relayFrameSizeLimit: number;
  rounds: number;
  bytesUp: number;
  bytesDown: number;
  have: number;
  need: number;
  reconcileSeconds: number;
  relayCpuSeconds: number;
  relayCpuSecondsSecondRun: number;
  /** The relay's anonymous memory (heap, arrays; not LMDB's mapped pages): at start, peaks, end. */
  relayAnonStartMiB: number;
  relayAnonPeakFirstMiB: number;
  relayAnonPeakSecondMiB: number;
  relayAnonEndMiB: number;
  prepareSeconds: number;
}

/** Event i of the universe: the first SHARED on both sides, then DIFFERING relay-only, then DIFFERING local-only. */
function eventLine(i: number, rng: Rng, pubkeys: readonly string[]): string {
  const event: NostrEvent = {
    id: '',
    pubkey: pubkeys[i % pubkeys.length]!,
    created_at: EPOCH - rng.int(0, SPAN_SECONDS),
    kind: 1,
    tags: [],
    content: `negentropy bench event ${i}`,
    sig: '0'.repeat(128),
  };
  event.id = computeEventId(event);
  return serializeEvent(event);
}

function writeSide(file: string, ranges: readonly [number, number][]): void {
  const rng = new Rng(77);
  const pubkeys = Array.from({ length: 1000 }, (_, k) =>
    computeEventId({ pubkey: '', created_at: k, kind: 0, tags: [], content: 'bench key' }),
  );
  const chunks: string[] = [];
  let chunk = '';
  // One pass over the whole universe keeps the generator's sequence identical for both files.
  for (let i = 0; i < SHARED + 2 * DIFFERING; i++) {
    const line = eventLine(i, rng, pubkeys);
    if (!ranges.some(([a, b]) => i >= a && i < b)) continue;
    chunk += `${line}\n`;
    if (chunk.length > 4_000_000) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  chunks.push(chunk);
  writeFileSync(file, chunks.join(''));
}

/** The filled relay and local data directories, and the relay side's JSONL (all cached). */
export async function prepareSync1m(): Promise<{ relayDir: string; localDir: string; relayFile: string }> {
  const relayDir = join(SYNC1M_CACHE_DIR, 'relay-db');
  const localDir = join(SYNC1M_CACHE_DIR, 'local-db');
  const relayFile = join(SYNC1M_CACHE_DIR, 'relay.jsonl');
  const localFile = join(SYNC1M_CACHE_DIR, 'local.jsonl');
  const marker = join(SYNC1M_CACHE_DIR, 'complete');
  if (existsSync(marker)) return { relayDir, localDir, relayFile };
  rmSync(SYNC1M_CACHE_DIR, { recursive: true, force: true });
  mkdirSync(SYNC1M_CACHE_DIR, { recursive: true });
  console.log('  generating 2 x 1,000,000 unsigned events (cached for later runs) ...');
  writeSide(relayFile, [[0, SHARED + DIFFERING]]);
  writeSide(localFile, [
    [0, SHARED],
    [SHARED + DIFFERING, SHARED + 2 * DIFFERING],
  ]);
  console.log('  importing them (orly import --no-verify, both sides at once) ...');
  const [a, b] = await Promise.all([
    importDataset(relayDir, relayFile, 1_200_000),
    importDataset(localDir, localFile, 1_200_000),
  ]);
  if (a.code !== 0 || b.code !== 0)
    throw new Error(`import failed: ${a.output.slice(-300)} ${b.output.slice(-300)}`);
  rmSync(localFile);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return { relayDir, localDir, relayFile };
}

const MiB = 1_048_576;

export async function sync1mScenario(
  frameSizeLimit = 60_000,
  relayFrameSizeLimit = 500_000,
): Promise<Sync1mResult> {
  const started = performance.now();
  const cached = await prepareSync1m();
  // Work on copies: the relay and `orly sync` open their stores read-write.
  const relayDir = makeDataDir();
  const localDir = makeDataDir();
  cpSync(cached.relayDir, relayDir, { recursive: true });
  cpSync(cached.localDir, localDir, { recursive: true });
  const prepareSeconds = (performance.now() - started) / 1000;
  try {
    const relay = await RelayProcess.start({
      label: 'sync-1m',
      dataDir: relayDir,
      env: {
        ORLY_NEGENTROPY_ENABLED: 'true',
        ORLY_NEGENTROPY_MAX_RECORDS: '2000000',
        ORLY_NEGENTROPY_FRAME_SIZE: String(relayFrameSizeLimit),
      },
    });
    try {
      const args = ['--dir', 'none', '--frame-size-limit', String(frameSizeLimit)];
      const anon = (): number => relay.rssBreakdown().anon;
      /** Runs one reconciliation, sampling the relay's anonymous memory every 20 ms. */
      const reconcile = async (): Promise<{
        run: Awaited<ReturnType<typeof runOrlySync>>;
        cpu: number;
        peak: number;
      }> => {
        let peak = anon();
        const timer = setInterval(() => {
          peak = Math.max(peak, anon());
        }, 20);
        const cpu0 = relay.cpu();
        try {
          const run = await runOrlySync(relay.url, localDir, args);
          if (run.code !== 0) throw new Error(`orly sync --dir none failed:\n${run.stderr.slice(-1000)}`);
          return { run, cpu: relay.cpu() - cpu0, peak };
        } finally {
          clearInterval(timer);
        }
      };
      const anonStart = anon();
      const firstRun = await reconcile();
      const secondRun = await reconcile();
      const first = firstRun.run;
      const s = syncSummary(first.stderr);
      const round2 = (x: number): number => Math.round(x * 100) / 100;
      return {
        relayEvents: SHARED + DIFFERING,
        localEvents: SHARED + DIFFERING,
        differingEachWay: DIFFERING,
        frameSizeLimit,
        relayFrameSizeLimit,
        rounds: s.rounds,
        bytesUp: s.up,
        bytesDown: s.down,
        have: s.have,
        need: s.need,
        reconcileSeconds: round2(first.seconds),
        relayCpuSeconds: round2(firstRun.cpu),
        relayCpuSecondsSecondRun: round2(secondRun.cpu),
        relayAnonStartMiB: Math.round(anonStart / MiB),
        relayAnonPeakFirstMiB: Math.round(firstRun.peak / MiB),
        relayAnonPeakSecondMiB: Math.round(secondRun.peak / MiB),
        relayAnonEndMiB: Math.round(anon() / MiB),
        prepareSeconds: round2(prepareSeconds),
      };
    } finally {
      await relay.shutdown();
    }
  } finally {
    rmSync(relayDir, { recursive: true, force: true });
    rmSync(localDir, { recursive: true, force: true });
  }
}
