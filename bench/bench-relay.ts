/**
 * What a load scenario needs of the relay under test, whichever it is (ours in local or split
 * mode, strfry): its URL, CPU and memory from /proc, its data directory's size, its log, and a
 * stop by PID. RelayProcess (relay-process.ts) and StrfryRelay (strfry-process.ts) implement it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type RssBreakdown, rssBreakdown } from './procfs.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  forced: boolean;
}

export interface BenchRelay {
  readonly url: string;
  readonly running: boolean;
  /** CPU seconds of the relay's processes. */
  cpu(): number;
  /** CPU seconds of the database server counted in cpu() (its PostgreSQL), when there is one. */
  serverCpu?(): number;
  rss(): number;
  rssBreakdown(): RssBreakdown;
  /** Samples RSS until the returned function is called; it returns the peaks. */
  samplePeakRss(intervalMs?: number): () => RssBreakdown;
  dataDirBytes(): number;
  /** The first error-looking line of the relay's output, for messages. */
  errorSummary(): string;
  /** Lines of its output, at most `max` of them as a sample. */
  logLines(max?: number): { count: number; sample: string[] };
  /** Stops it (SIGTERM by PID, then SIGKILL) and removes its data directory. */
  shutdown(): Promise<ExitInfo>;
}

/** RSS of several processes, summed per component. */
export function rssOfPids(pids: readonly number[]): RssBreakdown {
  const total: RssBreakdown = { rss: 0, anon: 0, file: 0 };
  for (const pid of pids) {
    const b = rssBreakdown(pid);
    total.rss += b.rss;
    total.anon += b.anon;
    total.file += b.file;
  }
  return total;
}

/** Samples `read` every `intervalMs` while `alive`, until the returned function is called. */
export function samplePeak(
  read: () => RssBreakdown,
  alive: () => boolean,
  intervalMs = 250,
): () => RssBreakdown {
  const peak: RssBreakdown = { rss: 0, anon: 0, file: 0 };
  const sample = () => {
    try {
      if (!alive()) return;
      const now = read();
      peak.rss = Math.max(peak.rss, now.rss);
      peak.anon = Math.max(peak.anon, now.anon);
      peak.file = Math.max(peak.file, now.file);
    } catch {
      // the process is exiting
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}

/** Bytes a directory tree occupies on disk (allocated blocks, so sparse files count as written). */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const st = statSync(join(dir, name));
    if (st.isFile()) total += st.blocks * 512;
    else if (st.isDirectory()) total += directoryBytes(join(dir, name));
  }
  return total;
}

/** The lines of a log file: how many, and the first `max` (each cut at 400 characters). */
export function logFileLines(file: string, max = 20): { count: number; sample: string[] } {
  let text = '';
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    return { count: 0, sample: [] };
  }
  const all = text === '' ? [] : text.split('\n');
  return { count: all.length, sample: all.slice(0, max).map((l) => l.slice(0, 400)) };
}

/** The first error-looking line among a log file's last 40 (else its last line). */
export function logErrorSummary(file: string): string {
  let tail: string[] = [];
  try {
    tail = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-40)
      .filter((l) => l.trim() !== '');
  } catch {
    // no log
  }
  return (tail.find((l) => /error|cannot|failed|invalid/i.test(l)) ?? tail.at(-1) ?? '(no output)').trim();
}
