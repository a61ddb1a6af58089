/**
 * `orly sync <ws-url>` in direct mode (strfry-compatible): opens the local LMDB store, takes
 * its (created_at, id) items matching --filter, reconciles them with the peer over NIP-77
 * negentropy (this side initiates), then transfers per --dir: `down` fetches the events we
 * need, `up` sends the events we have, `both` does both, `none` only reconciles (with
 * --print-missing: lines `have,<id>` / `need,<id>` on stdout).
 *
 * Progress goes to stderr (overwritten in place on a TTY, else one line per phase), then a
 * summary line. Exit codes: 0 success, 1 sync failure (NEG-ERR, disconnect, timeout, a peer
 * without NIP-77, store errors), 2 usage errors. With --server ADDR the same sync runs inside
 * a running orly-sync-negentropy instead (client mode, sync-client.ts; no local store; with
 * --print-missing the service streams the ids and the same lines are printed).
 */
import { availableParallelism } from 'node:os';
import { type CommandLine, parseCommandLine } from '../../config/args.js';
import { dataDirVar } from '../../config/env.js';
import { VerifierPool } from '../../crypto/verifier-pool.js';
import { UsageError } from '../../errors.js';
import { SealedVector } from '../../negentropy/codec/storage.js';
import { MIN_FRAME_SIZE_LIMIT } from '../../negentropy/codec/types.js';
import { filterToJSON, type NormalizedFilter } from '../../protocol/filter.js';
import { loadLmdbStoreConfig } from '../../store/lmdb/config.js';
import { LmdbEventStore } from '../../store/lmdb/lmdb-store.js';
import { missingLines } from '../../sync/missing-lines.js';
import { reconcileWithPeer } from '../../sync/negentropy-client.js';
import { PeerConnection, SyncError } from '../../sync/peer.js';
import { type DownloadStats, downloadEvents, type UploadStats, uploadEvents } from '../../sync/transfer.js';
import { VERSION } from '../../version.js';
import { filterOption } from '../filter-option.js';
import { type CliWritePolicy, cliWritePolicy } from '../write-policy.js';
import { formatClientSummary, runClientSync } from './client-mode.js';
import { parseRange, RangeOptionError } from './range-option.js';
import type { SyncOptions } from './sync-options.js';

export const SYNC_USAGE = `Usage: orly sync <ws-url> [options]

Reconciles the local store with a NIP-77 relay (negentropy) and transfers the difference.
  --data-dir DIR           store directory (default: ORLY_DATA_DIR or ~/.local/share/ORLY)
  --filter JSON            only sync events matching this filter (default {})
  --range START-END        since/until relative to now, as strfry: 2M- (the last two months),
                           1Y-3w (one year to three weeks ago); units s m h d w M Y
  --dir down|up|both|none  direction (default down; none = reconcile only)
  --frame-size-limit N     max bytes of one NEG-MSG we send (default 60000; 0 = none, else >= 4096)
  --print-missing          print "have,<id>" / "need,<id>" lines on stdout instead of
                           transferring (implies --dir none, as in strfry)
  --timeout S              per-phase inactivity timeout in seconds (default 30)
  --server ADDR            client mode: the sync runs in the orly-sync-negentropy at ADDR
                           (its store, no --data-dir)
  -h, --help               print this help
Options take their value as the next argument or after "=" (--dir=up).
`;

const SYNC_OPTIONS = {
  'data-dir': { type: 'string' },
  filter: { type: 'string' },
  range: { type: 'string' },
  dir: { type: 'string' },
  'frame-size-limit': { type: 'string' },
  timeout: { type: 'string' },
  server: { type: 'string' },
  'print-missing': { type: 'boolean' },
  version: { type: 'boolean' }, // prints the version, as `orly --version`
} as const;

type SyncCommandLine = Extract<CommandLine<typeof SYNC_OPTIONS>, { help: false }>;

/**
 * Parses `sync` arguments (after the subcommand); `--flag value` and `--flag=value` both work.
 * Throws UsageError, also for -h / --help (runSyncCli answers those before parsing the rest).
 */
export function parseSyncArgs(args: readonly string[], env: NodeJS.ProcessEnv): SyncOptions {
  const line = parseCommandLine(args, SYNC_OPTIONS, { positionals: true });
  if (line.help) throw new UsageError('--help asks for the usage, not for a sync');
  return syncOptions(line, env);
}

function syncOptions(
  { values: v, positionals: positional }: SyncCommandLine,
  env: NodeJS.ProcessEnv,
): SyncOptions {
  const server = v.server;
  if (server !== undefined && !/^.+:\d+$/.test(server))
    throw new UsageError(`--server must be host:port (got ${server})`);
  if (positional.length !== 1) {
    throw new UsageError(
      positional.length === 0
        ? 'sync needs a relay URL'
        : `unexpected arguments: ${positional.slice(1).join(' ')}`,
    );
  }
  const url = positional[0]!;
  if (!/^wss?:\/\/./i.test(url))
    throw new UsageError(`the relay URL must start with ws:// or wss:// (got ${url})`);

  let filter: NormalizedFilter = v.filter === undefined ? {} : filterOption(v.filter);
  if (filter.limit !== undefined) throw new UsageError('--filter: "limit" is not supported by sync');

  const rangeText = v.range;
  if (rangeText !== undefined) {
    if (filter.since !== undefined || filter.until !== undefined)
      throw new UsageError('--range cannot be combined with since/until in --filter');
    try {
      filter = { ...filter, ...parseRange(rangeText, Math.floor(Date.now() / 1000)) };
    } catch (err) {
      if (err instanceof RangeOptionError) throw new UsageError(`--range: ${err.message}`);
      throw err;
    }
  }

  const printMissing = v['print-missing'] === true;
  const dirText = v.dir;
  if (printMissing && dirText !== undefined && dirText !== 'none')
    throw new UsageError('--print-missing only reconciles: it needs --dir none or no --dir');
  const dir = printMissing ? 'none' : (dirText ?? 'down');
  if (dir !== 'down' && dir !== 'up' && dir !== 'both' && dir !== 'none') {
    throw new UsageError(`--dir must be down, up, both or none (got ${dir})`);
  }

  const frameText = v['frame-size-limit'] ?? '60000';
  const frameSizeLimit = Number(frameText);
  if (
    !/^\d+$/.test(frameText) ||
    !Number.isSafeInteger(frameSizeLimit) ||
    (frameSizeLimit !== 0 && frameSizeLimit < MIN_FRAME_SIZE_LIMIT)
  ) {
    throw new UsageError(
      `--frame-size-limit must be 0 or an integer >= ${MIN_FRAME_SIZE_LIMIT} (got ${frameText})`,
    );
  }

  const timeoutText = v.timeout ?? '30';
  const timeout = Number(timeoutText);
  if (timeoutText.trim() === '' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds (got ${timeoutText})`);
  }

  return {
    url,
    dataDir: v['data-dir'] ?? dataDirVar(env),
    filter,
    dir,
    frameSizeLimit,
    printMissing,
    timeoutMs: Math.round(timeout * 1000),
    ...(server !== undefined ? { server } : {}),
  };
}

export interface SyncSummary {
  have: number;
  need: number;
  rounds: number;
  download: DownloadStats | undefined;
  upload: UploadStats | undefined;
  bytesUp: number;
  bytesDown: number;
}

/** Progress on stderr: rewritten in place on a TTY, else only the line ending each phase. */
class Progress {
  private readonly tty: boolean;
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WriteStream) {
    this.tty = out.isTTY === true;
  }

  update(line: string): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.out.write(`\r\x1b[K${line}`);
  }

  done(line: string): void {
    this.out.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  log(line: string): void {
    this.out.write(this.tty ? `\r\x1b[K${line}\n` : `${line}\n`);
  }
}

export async function runSync(
  options: SyncOptions,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WriteStream },
): Promise<SyncSummary> {
  const progress = new Progress(io.stderr);
  const store = LmdbEventStore.open(options.dataDir, loadLmdbStoreConfig(process.env));
  let peer: PeerConnection | undefined;
  let verifier: VerifierPool | undefined;
  let policy: CliWritePolicy | undefined;
  try {
    const items = await store.negentropyItems(options.filter, Number.MAX_SAFE_INTEGER);
    if (items === undefined) throw new SyncError('the local store returned no item set for the filter');
    const storage = SealedVector.fromSorted(items);
    progress.done(`local: ${storage.size} events match the filter`);

    peer = await PeerConnection.connect(options.url, options.timeoutMs);
    const connected = peer;
    const reconciled = await reconcileWithPeer({
      peer: connected,
      storage,
      filter: filterToJSON(options.filter),
      frameSizeLimit: options.frameSizeLimit,
      timeoutMs: options.timeoutMs,
      onRound: (rounds, have, need) =>
        progress.update(`reconcile: round ${rounds}, have ${have}, need ${need}`),
      onNotice: (text) => progress.log(`peer NOTICE: ${text}`),
    });
    progress.done(
      `reconcile done: ${reconciled.rounds} rounds, have ${reconciled.have.length}, need ${reconciled.need.length}`,
    );
    if (options.printMissing) {
      const text = missingLines(reconciled.have, reconciled.need);
      if (text.length > 0) io.stdout.write(text);
    }

    const summary: SyncSummary = {
      have: reconciled.have.length,
      need: reconciled.need.length,
      rounds: reconciled.rounds,
      download: undefined,
      upload: undefined,
      bytesUp: 0,
      bytesDown: 0,
    };
    const log = (line: string): void => progress.log(line);

    if ((options.dir === 'down' || options.dir === 'both') && reconciled.need.length > 0) {
      verifier = new VerifierPool({ workers: Math.min(4, Math.max(1, availableParallelism() - 1)) });
      const ids = reconciled.need;
      let stats: DownloadStats | undefined;
      const view = (): string =>
        `download: ${stats ? stats.downloaded + stats.duplicates + stats.invalid + stats.rejected : 0} / ${ids.length}`;
      policy = await cliWritePolicy(process.env, log, 'Sync', options.url);
      stats = await downloadEvents({
        peer: connected,
        store,
        ids,
        verifier,
        timeoutMs: options.timeoutMs,
        log,
        onProgress: () => progress.update(view()),
        ...(policy === undefined ? {} : { admit: policy.admit }),
      });
      summary.download = stats;
      progress.done(
        `download done: ${stats.downloaded} stored, ${stats.duplicates} duplicates, ${stats.invalid} invalid, ` +
          `${stats.rejected} rejected, ${stats.missing} not returned`,
      );
    }
    if ((options.dir === 'up' || options.dir === 'both') && reconciled.have.length > 0) {
      const ids = reconciled.have;
      summary.upload = await uploadEvents({
        peer: connected,
        store,
        ids,
        timeoutMs: options.timeoutMs,
        log,
        onProgress: () =>
          progress.update(
            `upload: ${(summary.upload?.accepted ?? 0) + (summary.upload?.rejected ?? 0)} / ${ids.length}`,
          ),
      });
      const up = summary.upload;
      progress.done(`upload done: ${up.uploaded} sent, ${up.accepted} accepted, ${up.rejected} rejected`);
    }
    summary.bytesUp = connected.bytesUp;
    summary.bytesDown = connected.bytesDown;
    return summary;
  } finally {
    await peer?.close();
    await policy?.stop();
    await verifier?.close();
    await store.close();
  }
}

export function formatSummary(s: SyncSummary): string {
  const down = s.download?.downloaded ?? 0;
  const up = s.upload;
  return (
    `sync done: have ${s.have}, need ${s.need}, downloaded ${down}, ` +
    `uploaded ${up?.uploaded ?? 0} (${up?.accepted ?? 0} accepted / ${up?.rejected ?? 0} rejected), ` +
    `${s.rounds} rounds, ${s.bytesUp} bytes up / ${s.bytesDown} bytes down`
  );
}

/**
 * The CLI entry: parses, runs, prints the summary; returns the exit code (--help: the usage on
 * stdout, 0; usage errors: the message and the usage on stderr, 2).
 */
export async function runSyncCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WriteStream } = {
    stdout: process.stdout,
    stderr: process.stderr,
  },
): Promise<number> {
  let options: SyncOptions;
  try {
    const line = parseCommandLine(args, SYNC_OPTIONS, { positionals: true });
    if (line.help) {
      io.stdout.write(SYNC_USAGE);
      return 0;
    }
    if (line.values.version) {
      io.stdout.write(`${VERSION}\n`);
      return 0;
    }
    options = syncOptions(line, env);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`orly sync: ${err.message}\n\n${SYNC_USAGE}`);
      return 2;
    }
    throw err;
  }
  try {
    if (options.server !== undefined) {
      const final = await runClientSync({ ...options, server: options.server }, io, env);
      io.stderr.write(`${formatClientSummary(final)}\n`);
      return 0;
    }
    const summary = await runSync(options, io);
    io.stderr.write(`${formatSummary(summary)}\n`);
    return 0;
  } catch (err) {
    const message =
      err instanceof SyncError
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
    io.stderr.write(`orly sync: ${options.url}: ${message}\n`);
    return 1;
  }
}
