/**
 * Readings from /proc (Linux): a process's RSS and CPU time, and the whole machine's busy CPU
 * time, so a report can tell how much CPU went to something other than the relay and the load.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second for /proc CPU times (almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** RSS in bytes of a process (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export interface RssBreakdown {
  /** VmRSS: everything resident. */
  rss: number;
  /** RssAnon: heap, stacks, buffers (what the process allocated). */
  anon: number;
  /** RssFile: resident pages of mapped files, e.g. the LMDB data file. */
  file: number;
}

/** Resident memory of a process split into anonymous and file-backed pages, in bytes. */
export function rssBreakdown(pid: number): RssBreakdown {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** User + system CPU seconds of a process, all its threads included (/proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/**
 * CPU seconds the whole machine (all cores) spent running processes (user, nice, system,
 * steal), from /proc/stat. Interrupt and softirq time is left out: loopback networking of the
 * benchmark itself is accounted there, not to any process.
 */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest times are already in user/nice)
    const busy = v[0]! + v[1]! + v[2]! + v[7]!;
    return busy / ticksPerSecond();
  } catch {
    return Number.NaN;
  }
}

/** Bytes received on the loopback interface so far (/proc/net/dev): all local traffic, both directions once. */
export function loopbackBytes(): number {
  for (const line of readFileSync('/proc/net/dev', 'utf8').split('\n')) {
    const m = /^\s*lo:\s*(\d+)/.exec(line);
    if (m) return Number(m[1]);
  }
  return Number.NaN;
}
