/**
 * The orchestrator's side of the load-generator protocol (see load-protocol.ts): spawns
 * `node dist/bench/<script>.js '<json>'` as its own process, runs a callback when it is
 * ready (e.g. sample the relay's CPU), answers "go", and resolves with its result line.
 * A load generator that overruns its time limit is killed by PID.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { trackChild, untrackChild } from './children.js';
import { loadScript } from './paths.js';

export interface LoadRun<R> {
  ready: Record<string, unknown>;
  result: R;
  /** What onResult returned. */
  afterResult: unknown;
}

export interface LoadRunOptions {
  script: string;
  args: Record<string, unknown> & { hardTimeoutSec: number };
  /** Called when the generator is ready, before "go" is sent. */
  onReady?: (info: Record<string, unknown>) => Promise<void> | void;
  /** Called as soon as the result line arrives, before the generator exits. */
  onResult?: (result: Record<string, unknown>) => unknown;
  /** V8 heap limit for the generator (MB). */
  heapMb?: number;
}

export function runLoad<R>(options: LoadRunOptions): Promise<LoadRun<R>> {
  const { script, args } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${options.heapMb ?? 4096}`, loadScript(script), JSON.stringify(args)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    trackChild(child.pid, script);
    let readyInfo: Record<string, unknown> = {};
    let result: R | undefined;
    let afterResult: unknown;
    let failure: string | undefined;
    let stderrTail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderrTail = (stderrTail + text).slice(-4000);
      process.stderr.write(text.replace(/^(?=.)/gm, `    [${script}] `));
    });
    child.stdin.on('error', () => {
      // the generator exited before reading; its exit is reported below
    });
    const killer = setTimeout(
      () => {
        failure = `${script} did not finish within ${args.hardTimeoutSec + 30} s; killed`;
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      },
      (args.hardTimeoutSec + 30) * 1000,
    );
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stderr.write(`    [${script}] ${line}\n`);
        return;
      }
      const { type, ...rest } = message;
      if (type === 'ready') {
        readyInfo = rest;
        Promise.resolve(options.onReady?.(rest)).then(
          () => child.stdin.write('go\n'),
          (err: Error) => {
            failure = `onReady failed: ${err.message}`;
            if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
          },
        );
      } else if (type === 'result') {
        result = rest as R;
        try {
          afterResult = options.onResult?.(rest);
        } catch (err) {
          process.stderr.write(`    onResult failed: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      } else if (type === 'error') {
        failure = String(rest.message);
      }
    });
    child.once('error', (err) => {
      clearTimeout(killer);
      untrackChild(child.pid);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      untrackChild(child.pid);
      child.stdin.destroy();
      if (result !== undefined && failure === undefined) resolve({ ready: readyInfo, result, afterResult });
      else {
        const why = failure ?? `${script} exited (code ${code}, signal ${signal}) without a result`;
        reject(
          new Error(`${why}${stderrTail ? `\n${stderrTail.trim().split('\n').slice(-5).join('\n')}` : ''}`),
        );
      }
    });
  });
}
