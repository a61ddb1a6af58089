/**
 * One running write-policy plugin: a child process started as `/bin/sh -c <command>` (as strfry
 * does) in a process group of its own, so that a signal reaches the plugin whether or not the
 * shell exec'd it. Events go to its stdin as JSON lines; its stdout lines are answers matched by
 * event id (several in flight with the same id: in the order sent); its stderr lines go to the
 * log. Any failure (an event timed out, an answer that is JSON but not a valid answer, an answer
 * for an id not in flight, a line longer than the limit, the process exiting) fails every event
 * in flight with an error verdict and ends the process; the owner (write-plugin.ts) is told and
 * decides about a restart. Lines that are not JSON at all are logged and skipped, like strfry.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../../logger.js';
import { clip, LineSplitter, type LogBudget } from './plugin-lines.js';
import {
  encodeInput,
  type InputFormat,
  PluginErrors,
  type PluginInput,
  type PluginVerdict,
  parseAnswer,
} from './plugin-protocol.js';

export interface PluginProcessOptions {
  readonly command: string;
  /** The input lines' shape (default strfry's). */
  readonly format?: InputFormat;
  readonly timeoutMs: number;
  readonly maxLineBytes: number;
  readonly killGraceMs: number;
  readonly logger: Logger;
  readonly garbageLog: LogBudget;
  readonly stderrLog: LogBudget;
  /** A valid answer arrived (the owner resets its restart backoff). */
  readonly onAnswer: (proc: PluginProcess) => void;
  /** The process failed while in use (not after drain() or kill()): it is being ended. */
  readonly onFailure: (proc: PluginProcess, why: string) => void;
}

/** Longest stderr line logged (bytes); the rest of a longer line is dropped. */
const MAX_STDERR_LINE_BYTES = 4096;

interface Pending {
  readonly settle: (verdict: PluginVerdict) => void;
  readonly timer: NodeJS.Timeout;
}

type State = 'running' | 'draining' | 'ending' | 'closed';

export class PluginProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<string, Pending[]>();
  private inFlight = 0;
  private state: State = 'running';
  private killTimer: NodeJS.Timeout | undefined;
  private resolveClosed!: () => void;
  /** Resolves once the process has exited and its pipes are closed (or it never started). */
  readonly closed = new Promise<void>((resolve) => {
    this.resolveClosed = resolve;
  });
  /** Resolves once spawned; rejects when /bin/sh itself could not be started. */
  readonly spawned: Promise<void>;

  constructor(private readonly options: PluginProcessOptions) {
    this.child = spawn('/bin/sh', ['-c', options.command], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.spawned = new Promise<void>((resolve, reject) => {
      this.child.once('spawn', resolve);
      this.child.once('error', reject);
    });
    this.spawned.catch(() => {});
    this.child.on('error', (err) => {
      options.logger.error({ err: err.message }, 'write-policy plugin: process error');
      if (this.child.pid === undefined) this.finish(`could not be started: ${err.message}`);
    });
    this.child.stdin!.on('error', () => {}); // EPIPE when it died: the exit is handled below
    const stdout = new LineSplitter(
      options.maxLineBytes,
      (line) => this.onLine(line),
      (head) => {
        options.garbageLog.warn({ line: clip(head) }, 'write-policy plugin: answer line too long');
        this.fail(`printed a line longer than ${options.maxLineBytes} bytes`, PluginErrors.badAnswer);
      },
    );
    this.child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
    const stderr = new LineSplitter(
      MAX_STDERR_LINE_BYTES,
      (line) => options.stderrLog.warn({ line: clip(line) }, 'write-policy plugin stderr'),
      (head) => options.stderrLog.warn({ line: clip(head), cut: true }, 'write-policy plugin stderr'),
    );
    this.child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
    this.child.on('exit', (code, signal) => {
      if (this.state === 'running' || this.state === 'draining') {
        this.fail(`exited (code ${code}, signal ${signal})`, PluginErrors.exited);
      }
      // a pipe still held open by something outside the group must not keep us waiting forever
      setTimeout(() => {
        this.child.stdout!.destroy();
        this.child.stderr!.destroy();
      }, options.killGraceMs).unref();
    });
    this.child.on('close', () => this.finish('closed'));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one event; `settle` is called exactly once (answer, timeout or failure). */
  send(input: PluginInput, settle: (verdict: PluginVerdict) => void): void {
    if (this.state !== 'running') {
      settle({ action: 'error', msg: PluginErrors.notRunning });
      return;
    }
    const id = input.event.id;
    const timer = setTimeout(() => this.timeout(id, entry), this.options.timeoutMs);
    const entry: Pending = { settle, timer };
    const queue = this.pending.get(id);
    if (queue) queue.push(entry);
    else this.pending.set(id, [entry]);
    this.inFlight++;
    this.child.stdin!.write(encodeInput(input, this.options.format));
  }

  /** Takes no more events; ends the process once the ones in flight are answered (or fail). */
  drain(): void {
    if (this.state !== 'running') return;
    this.state = 'draining';
    if (this.inFlight === 0) this.terminate();
  }

  /** Fails every event in flight with `msg` and ends the process (SIGTERM, later SIGKILL). */
  kill(msg: string): void {
    if (this.state === 'ending' || this.state === 'closed') return;
    this.state = 'ending';
    this.failAll(msg);
    this.terminate();
  }

  private onLine(line: string): void {
    if (this.state !== 'running' && this.state !== 'draining') return;
    const parsed = parseAnswer(line);
    if (parsed.kind === 'notJson') {
      this.options.garbageLog.warn({ line: clip(line) }, 'write-policy plugin: line is not JSON (ignored)');
      return;
    }
    if (parsed.kind === 'invalid') {
      this.options.garbageLog.warn(
        { line: clip(line), problem: parsed.detail },
        'write-policy plugin: invalid answer',
      );
      if (parsed.id !== undefined) this.take(parsed.id)?.({ action: 'error', msg: PluginErrors.badAnswer });
      this.fail(`invalid answer: ${parsed.detail}`, PluginErrors.restarted);
      return;
    }
    const settle = this.take(parsed.id);
    if (!settle) {
      this.options.garbageLog.warn(
        { line: clip(line) },
        'write-policy plugin: answer for an id not in flight',
      );
      this.fail('answered an id not in flight', PluginErrors.restarted);
      return;
    }
    this.options.onAnswer(this);
    settle(parsed.verdict);
  }

  /** Removes the oldest event in flight with this id; its settle (which also ends a drain). */
  private take(id: string): ((verdict: PluginVerdict) => void) | undefined {
    const queue = this.pending.get(id);
    const entry = queue?.shift();
    if (!queue || !entry) return undefined;
    if (queue.length === 0) this.pending.delete(id);
    clearTimeout(entry.timer);
    this.inFlight--;
    return (verdict) => {
      entry.settle(verdict);
      if (this.state === 'draining' && this.inFlight === 0) this.terminate();
    };
  }

  private timeout(id: string, entry: Pending): void {
    const queue = this.pending.get(id);
    const at = queue ? queue.indexOf(entry) : -1;
    if (!queue || at === -1) return;
    queue.splice(at, 1);
    if (queue.length === 0) this.pending.delete(id);
    this.inFlight--;
    entry.settle({ action: 'error', msg: PluginErrors.timedOut });
    this.fail(`no answer within ${this.options.timeoutMs} ms: hung`, PluginErrors.restarted);
  }

  /** A failure while in use: every event in flight gets `msg`, the process is ended. */
  private fail(why: string, msg: string): void {
    if (this.state !== 'running' && this.state !== 'draining') return;
    const wasRunning = this.state === 'running';
    this.kill(msg);
    this.options.logger.warn({ pid: this.pid, why }, 'write-policy plugin failed');
    if (wasRunning) this.options.onFailure(this, why);
  }

  private failAll(msg: string): void {
    const queues = [...this.pending.values()];
    this.pending.clear();
    this.inFlight = 0;
    for (const queue of queues) {
      for (const entry of queue) {
        clearTimeout(entry.timer);
        entry.settle({ action: 'error', msg });
      }
    }
  }

  private terminate(): void {
    if (this.state === 'closed') return;
    this.state = 'ending';
    this.child.stdin!.end();
    this.signal('SIGTERM');
    if (!this.killTimer) {
      this.killTimer = setTimeout(() => this.signal('SIGKILL'), this.options.killGraceMs);
    }
  }

  /** Signals the whole process group (the shell and the plugin it started). */
  private signal(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // ESRCH: the group is gone already
    }
  }

  private finish(why: string): void {
    if (this.state === 'closed') return;
    if (this.state === 'running' || this.state === 'draining') {
      this.fail(why, PluginErrors.exited);
    }
    this.state = 'closed';
    this.failAll(PluginErrors.exited);
    this.signal('SIGKILL'); // anything the shell left behind in the group
    if (this.killTimer) clearTimeout(this.killTimer);
    this.resolveClosed();
  }
}
