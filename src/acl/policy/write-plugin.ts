/**
 * strfry-compatible write-policy plugins: the runner. The relay's EVENT path (or orly-acl's
 * CheckPolicy in split mode), `orly import`, `orly sync` and orly-sync-negentropy ask it; ORLY's
 * policy file runs its rules' scripts with it too (format 'orly').
 *
 * What strfry does (hoytech/strfry, docs/plugins.md and src/PluginEventSifter.h, with
 * hoytech-cpp's hoytech/stream.h for the pipe reads):
 * - Input: one JSON line per event: `type` "new", `event`, `receivedAt` (time(NULL), unix
 *   seconds), `sourceType` (IP4, IP6, Import, Stream, Sync, Stored), `sourceInfo` (the IP address
 *   for IP4/IP6, the peer URL for stream/sync), and `authed` (hex pubkey) only when the connection
 *   completed NIP-42. Output: one JSON line, `id` (the event's), `action` accept | reject |
 *   shadowReject, `msg` (optional, sent as is in the OK; reject → OK false, shadowReject → OK true).
 * - The command always runs as `/bin/sh -c <command>` (posix_spawnp "sh"); stderr is inherited
 *   (strfry's own log is stderr). A command without a space is taken as a script path: it is
 *   stat'ed when started (failure: error) and before EVERY event; a changed mtime (sec + nsec)
 *   restarts the plugin before that event ("reloaded upon the next write attempt"). A changed
 *   command restarts it too.
 * - One event at a time, the plugin in the writer thread; write and read each wait at most
 *   relay.writePolicy.timeoutSeconds (default 10). Answer lines are limited to 8192 bytes.
 * - A line that is not JSON is logged ("Got unparseable line") and skipped, reading on. Any other
 *   problem (timeout, pipe closed, line too long, id mismatch, missing id or action, unknown
 *   action) is logged, the plugin is destroyed (SIGTERM, then a blocking waitpid, no SIGKILL) and
 *   the event is rejected with "error: internal error"; the next event starts it again at once.
 *
 * Where this runner differs:
 * - Many events in flight over the one pipe (strfry's docs reserve this: answers carry the id);
 *   answers are matched by id, in order for repeated ids. At most `maxInFlight` (default 1000)
 *   at once on the pipe; beyond, events wait in a queue (at most `maxQueued`, default 10,000,
 *   in order) and go to the pipe as answers come back, so a plugin's timeout measures the
 *   plugin, not the queue. Beyond the queue, decide() answers at once { action: 'error', msg:
 *   'rate-limited: …' }. Queued events of a plugin that failed get its error at once.
 * - Per-event timeout `timeoutMs` (default 5000). A timeout means the plugin is hung: that
 *   event gets 'error: … timed out', the others in flight 'error: … was restarted', and the
 *   plugin is restarted. Same for the problems strfry treats as fatal (invalid JSON answer, id
 *   not in flight, line over `maxLineBytes`, default 1 MiB, process exit). Non-JSON lines are
 *   skipped like strfry (an event then ends in a timeout unless a real answer follows).
 * - Restarts after a failure wait an exponential backoff (`restartBackoffMs`, default 250 ms
 *   doubling to 30 s, back to the minimum after a valid answer); while no plugin runs, decide()
 *   answers 'error: … not running' at once. Nothing ever turns into an accept.
 * - The script's mtime (and inode, for editors that replace the file) is checked at most once a
 *   second, triggered by decide() and off its path: the event that triggers the check still goes
 *   to the running plugin. On a change the old plugin keeps answering the events it has (then
 *   ends), new events go to the new one at once, and a pending backoff is cut short.
 * - stderr goes to our logger at warn, line by line (4 KiB a line), rate-limited (20 lines per
 *   10 s, then a count), as are the garbage lines. Also `/bin/sh -c`, but in a process group of
 *   its own: dash (Debian's sh) does not exec a lone command, so the plugin is the shell's child,
 *   and stop() and restarts signal the whole group (SIGTERM, SIGKILL after `killGraceMs`,
 *   default 2000); stop() resolves once every plugin process has exited.
 * - Bounds: events in flight (`maxInFlight`, so what waits in the stdin pipe is at most that many
 *   event lines) and queued (`maxQueued`), the answer line being read (`maxLineBytes`), stderr lines, log lines, the
 *   reject msg passed on (1024 characters).
 * - A reject msg without a known NIP-01 prefix gets 'blocked: ' (an empty one: 'blocked: rejected
 *   by write policy'); shadowReject's msg is dropped (the caller answers OK true).
 * - start() rejects only for what is wrong before anything runs: an empty command, a script path
 *   (no space) that cannot be stat'ed or is not executable, or /bin/sh not spawnable. The script
 *   vanishing later is logged and the running plugin kept.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Logger } from '../../logger.js';
import { LogBudget } from './plugin-lines.js';
import { PluginProcess } from './plugin-process.js';
import {
  type InputFormat,
  PluginErrors,
  type PluginInput,
  type PluginVerdict,
  type WritePolicy,
} from './plugin-protocol.js';

export type { PluginInput, PluginSource, PluginVerdict } from './plugin-protocol.js';

export interface WritePolicyPluginOptions {
  /** Run as `/bin/sh -c command`; without a space it is a script path, reloaded when it changes. */
  readonly command: string;
  /** The input lines' shape: strfry's (default) or ORLY's policy scripts'. */
  readonly format?: InputFormat;
  /** Per event (default 5000). */
  readonly timeoutMs?: number;
  /** Events in flight at once (default 1000); beyond, the verdict is a 'rate-limited:' error. */
  readonly maxInFlight?: number;
  /** Events waiting for a place on the pipe (default 10,000); beyond, a 'rate-limited:' error. */
  readonly maxQueued?: number;
  readonly logger: Logger;
  /** Restart delay after a failure, doubling from min to max (default 250 to 30000). */
  readonly restartBackoffMs?: { readonly min: number; readonly max: number };
  /** Longest answer line (default 1 MiB); longer is a protocol failure. */
  readonly maxLineBytes?: number;
  /** Between SIGTERM and SIGKILL (default 2000). */
  readonly killGraceMs?: number;
}

/** How often at most the script's modification time is checked. */
const RELOAD_CHECK_MS = 1000;

type RunState = 'new' | 'running' | 'stopped';

export class WritePolicyPlugin implements WritePolicy {
  private readonly command: string;
  private readonly scriptPath: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private readonly queue: { readonly input: PluginInput; readonly resolve: (v: PluginVerdict) => void }[] =
    [];
  private queueHead = 0;
  private readonly backoff: { readonly min: number; readonly max: number };
  private readonly maxLineBytes: number;
  private readonly killGraceMs: number;
  private readonly logger: Logger;
  private readonly garbageLog: LogBudget;
  private readonly stderrLog: LogBudget;
  private readonly statLog: LogBudget;

  private state: RunState = 'new';
  private current: PluginProcess | undefined;
  private readonly processes = new Set<PluginProcess>();
  private inFlight = 0;
  private nextBackoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private scriptKey: string | undefined;
  private lastCheck = 0;
  private checking = false;

  constructor(private readonly options: WritePolicyPluginOptions) {
    this.command = options.command.trim();
    this.scriptPath = this.command !== '' && !this.command.includes(' ') ? this.command : undefined;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxInFlight = options.maxInFlight ?? 1000;
    this.maxQueued = options.maxQueued ?? 10_000;
    this.backoff = options.restartBackoffMs ?? { min: 250, max: 30_000 };
    this.maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.nextBackoffMs = this.backoff.min;
    this.logger = options.logger.child({ component: 'write-plugin' });
    this.garbageLog = new LogBudget(this.logger, 'write-policy plugin garbage');
    this.stderrLog = new LogBudget(this.logger, 'write-policy plugin stderr');
    this.statLog = new LogBudget(this.logger, 'write-policy plugin script', 1, 60_000);
  }

  /** The PID of the running plugin's process (its process group), if one runs. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  /** Starts the plugin; see the header for when it rejects. Later failures never throw. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('write-policy plugin: start() called twice');
    if (this.command === '') throw new Error('write-policy plugin: the command is empty');
    let key: string | undefined;
    if (this.scriptPath !== undefined) {
      try {
        key = await statKey(this.scriptPath);
        await access(this.scriptPath, constants.X_OK);
      } catch (err) {
        throw new Error(`write-policy plugin ${this.scriptPath}: ${(err as Error).message}`);
      }
    }
    this.state = 'running';
    const proc = this.spawn(key);
    try {
      await proc.spawned;
    } catch (err) {
      this.state = 'stopped';
      this.clearRestart();
      throw new Error(`write-policy plugin: cannot start /bin/sh: ${(err as Error).message}`);
    }
  }

  /** The plugin's verdict on one event; never rejects, never accepts without the plugin's word. */
  decide(input: PluginInput): Promise<PluginVerdict> {
    if (this.state !== 'running') {
      return Promise.resolve({
        action: 'error',
        msg: this.state === 'stopped' ? PluginErrors.stopped : PluginErrors.notRunning,
      });
    }
    this.checkScript();
    if (!this.current) return Promise.resolve({ action: 'error', msg: PluginErrors.notRunning });
    if (this.inFlight >= this.maxInFlight) {
      if (this.queue.length - this.queueHead >= this.maxQueued)
        return Promise.resolve({ action: 'error', msg: PluginErrors.busy });
      return new Promise((resolve) => this.queue.push({ input, resolve }));
    }
    return new Promise((resolve) => this.send(input, resolve));
  }

  /** Sends one event to the running plugin (or answers the error why it cannot). */
  private send(input: PluginInput, resolve: (verdict: PluginVerdict) => void): void {
    const proc = this.current;
    if (this.state !== 'running' || !proc) {
      resolve({
        action: 'error',
        msg: this.state === 'stopped' ? PluginErrors.stopped : PluginErrors.notRunning,
      });
      return;
    }
    this.inFlight++;
    proc.send(input, (verdict) => {
      this.inFlight--;
      resolve(verdict);
      this.pump();
    });
  }

  /** Moves queued events to the pipe while it has room. */
  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as never;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      this.send(next.input, next.resolve);
    }
  }

  /** Ends every plugin process (SIGTERM, SIGKILL after the grace); events in flight get errors. */
  async stop(): Promise<void> {
    this.state = 'stopped';
    this.clearRestart();
    this.current = undefined;
    this.pump();
    const all = [...this.processes];
    for (const proc of all) proc.kill(PluginErrors.stopped);
    await Promise.all(all.map((proc) => proc.closed));
  }

  private spawn(key: string | undefined): PluginProcess {
    this.scriptKey = key ?? this.scriptKey;
    const proc = new PluginProcess({
      command: this.command,
      ...(this.options.format === undefined ? {} : { format: this.options.format }),
      timeoutMs: this.timeoutMs,
      maxLineBytes: this.maxLineBytes,
      killGraceMs: this.killGraceMs,
      logger: this.logger,
      garbageLog: this.garbageLog,
      stderrLog: this.stderrLog,
      onAnswer: () => {
        this.nextBackoffMs = this.backoff.min;
      },
      onFailure: (failed, why) => this.onFailure(failed, why),
    });
    this.current = proc;
    this.processes.add(proc);
    void proc.closed.then(() => this.processes.delete(proc));
    this.logger.info({ command: this.command, pid: proc.pid }, 'write-policy plugin started');
    return proc;
  }

  private onFailure(proc: PluginProcess, why: string): void {
    if (proc !== this.current) return;
    this.current = undefined;
    if (this.state !== 'running') return;
    const delay = this.nextBackoffMs;
    this.nextBackoffMs = Math.min(this.nextBackoffMs * 2, this.backoff.max);
    this.logger.warn({ why, restartInMs: delay }, 'write-policy plugin failed; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delay);
  }

  private async restart(): Promise<void> {
    let key: string | undefined;
    if (this.scriptPath !== undefined) {
      key = await statKey(this.scriptPath).catch(() => undefined);
    }
    if (this.state !== 'running' || this.current || this.restartTimer) return;
    this.spawn(key);
  }

  /** At most once a second, off the event's path: a changed script replaces the plugin. */
  private checkScript(): void {
    const path = this.scriptPath;
    const now = Date.now();
    if (path === undefined || this.checking || now - this.lastCheck < RELOAD_CHECK_MS) return;
    this.lastCheck = now;
    this.checking = true;
    statKey(path)
      .then(
        (key) => {
          if (this.state === 'running' && key !== this.scriptKey) this.reload(key);
        },
        (err: Error) => {
          this.statLog.warn({ path, err: err.message }, 'write-policy plugin: cannot stat the script');
        },
      )
      .finally(() => {
        this.checking = false;
      });
  }

  private reload(key: string): void {
    this.logger.info({ command: this.command }, 'write-policy plugin script changed: reloading');
    this.clearRestart();
    this.current?.drain();
    this.current = undefined;
    this.nextBackoffMs = this.backoff.min;
    this.spawn(key);
  }

  private clearRestart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
  }
}

/** What identifies one version of the script: inode and modification time (ns). */
async function statKey(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  return `${s.ino}:${s.mtimeNs}`;
}
