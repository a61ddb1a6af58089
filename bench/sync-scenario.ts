/**
 * The negentropy sync scenario: a relay holding 100,000 events and a local store holding
 * 100,000, differing by 1% each way (1,000 only on each side). `orly sync` (direct mode, a
 * separate process) first reconciles only (`--dir none`: round trips and bytes on the wire for
 * the reconciliation alone, relay CPU), then syncs both ways (`--dir both`: total time).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToCompletion } from './children.js';
import type { Dataset } from './dataset.js';
import { RELAY_CLI } from './paths.js';
import { importDataset, makeDataDir, RelayProcess } from './relay-process.js';

export interface SyncBenchResult {
  relayEvents: number;
  localEvents: number;
  differingEachWay: number;
  frameSizeLimit: number;
  reconcileSeconds: number;
  rounds: number;
  bytesUp: number;
  bytesDown: number;
  relayCpuSecondsReconcile: number;
  bothSeconds: number;
  downloaded: number;
  uploaded: number;
}

export async function runOrlySync(
  url: string,
  dataDir: string,
  args: string[],
): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const run = await runToCompletion(
    process.execPath,
    [RELAY_CLI, 'sync', url, '--data-dir', dataDir, ...args],
    {
      label: 'orly sync',
      env: { ...process.env, ORLY_LOG_LEVEL: 'warn' },
      stdoutIgnored: true,
    },
  );
  return { code: run.code, stderr: run.output, seconds: run.seconds };
}

/** The numbers of `orly sync`'s summary line. */
export function syncSummary(stderr: string): {
  have: number;
  need: number;
  rounds: number;
  up: number;
  down: number;
  downloaded: number;
  uploaded: number;
} {
  const m =
    /sync done: have (\d+), need (\d+), downloaded (\d+), uploaded (\d+).*?(\d+) rounds?, (\d+) bytes up \/ (\d+) bytes down/.exec(
      stderr,
    );
  if (!m) throw new Error(`no summary line in orly sync output:\n${stderr.slice(-1000)}`);
  return {
    have: Number(m[1]),
    need: Number(m[2]),
    downloaded: Number(m[3]),
    uploaded: Number(m[4]),
    rounds: Number(m[5]),
    up: Number(m[6]),
    down: Number(m[7]),
  };
}

export async function syncScenario(dataset: Dataset, frameSizeLimit = 60_000): Promise<SyncBenchResult> {
  const lines = readFileSync(dataset.file, 'utf8').trimEnd().split('\n');
  const size = Math.min(100_000, lines.length - 1000);
  const diff = Math.floor(size / 100);
  // Local: lines [0, size). Relay: lines [diff, size + diff): 1% only on each side.
  const localLines = lines.slice(0, size);
  const relayLines = lines.slice(diff, size + diff);
  const relayDir = makeDataDir();
  const localDir = makeDataDir();
  const relayFile = join(relayDir, 'fill.jsonl');
  const localFile = join(localDir, 'fill.jsonl');
  writeFileSync(relayFile, `${relayLines.join('\n')}\n`);
  writeFileSync(localFile, `${localLines.join('\n')}\n`);
  try {
    console.log(`  importing ${size} events into each side ...`);
    const [a, b] = await Promise.all([
      importDataset(relayDir, relayFile),
      importDataset(localDir, localFile),
    ]);
    if (a.code !== 0 || b.code !== 0)
      throw new Error(`import failed: ${a.output.slice(-300)} ${b.output.slice(-300)}`);
    rmSync(relayFile);
    rmSync(localFile);
    const relay = await RelayProcess.start({
      label: 'sync',
      dataDir: relayDir,
      env: { ORLY_NEGENTROPY_ENABLED: 'true' },
    });
    try {
      const cpu0 = relay.cpu();
      const reconcile = await runOrlySync(relay.url, localDir, [
        '--dir',
        'none',
        '--frame-size-limit',
        String(frameSizeLimit),
      ]);
      const relayCpu = relay.cpu() - cpu0;
      if (reconcile.code !== 0)
        throw new Error(`orly sync --dir none failed:\n${reconcile.stderr.slice(-1000)}`);
      const r = syncSummary(reconcile.stderr);
      const both = await runOrlySync(relay.url, localDir, [
        '--dir',
        'both',
        '--frame-size-limit',
        String(frameSizeLimit),
      ]);
      if (both.code !== 0) throw new Error(`orly sync --dir both failed:\n${both.stderr.slice(-1000)}`);
      const s = syncSummary(both.stderr);
      return {
        relayEvents: size,
        localEvents: size,
        differingEachWay: diff,
        frameSizeLimit,
        reconcileSeconds: Math.round(reconcile.seconds * 100) / 100,
        rounds: r.rounds,
        bytesUp: r.up,
        bytesDown: r.down,
        relayCpuSecondsReconcile: Math.round(relayCpu * 100) / 100,
        bothSeconds: Math.round(both.seconds * 100) / 100,
        downloaded: s.downloaded,
        uploaded: s.uploaded,
      };
    } finally {
      await relay.shutdown();
    }
  } finally {
    rmSync(relayDir, { recursive: true, force: true });
    rmSync(localDir, { recursive: true, force: true });
  }
}
