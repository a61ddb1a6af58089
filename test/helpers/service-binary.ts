/**
 * A service binary (orly-sync-distributed, orly-sync-cluster, ...) as a child process for its
 * binary test: started with an environment until its "grpc listening" line names the port (its
 * stdout and stderr kept, its log level info), stopped with SIGTERM; its configuration errors;
 * one authenticated call; its health and warnings; and the orly-db and orly-acl it runs over (in
 * this process, SPLIT_TOKEN).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { type ChannelCredentials, type Client, credentials } from '@grpc/grpc-js';
import { HealthClient } from '../../src/gen/grpc/health/v1/health.js';
import type { Logger } from '../../src/logger.js';
import { unaryCaller } from './grpc-call.js';
import { SPLIT_TOKEN, type SplitServices, startSplitServices } from './relay-harness.js';
import { runNode } from './run-node.js';

export interface RunningBinary {
  readonly port: number;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export interface ServiceBinary {
  /** Runs the binary with `env` on top of the process's (and PREFIX_LOG_LEVEL=info). */
  start(env: Record<string, string>): Promise<RunningBinary>;
  /**
   * Each [variable, value] makes the binary exit 2 naming the variable; PREFIX_LISTEN beyond
   * loopback without a token exits 2 before anything is opened.
   */
  assertConfigErrors(cases: readonly (readonly [string, string])[]): Promise<void>;
  /** One call of `method` (SPLIT_TOKEN) on a client of 127.0.0.1:port, closed afterwards. */
  call<Res>(
    ClientClass: new (address: string, credentials: ChannelCredentials) => Client,
    port: number,
    method: string,
  ): Promise<Res>;
}

/** The binary at `cli`, called `name` in its messages, its variables named `prefix`_*. */
export function serviceBinary(cli: string, name: string, prefix: string): ServiceBinary {
  return {
    start: (env) => startBinary(cli, { [`${prefix}_LOG_LEVEL`]: 'info', ...env }),
    async assertConfigErrors(cases) {
      for (const [variable, value] of cases) {
        const res = await runNode(cli, [], { env: { [variable]: value } });
        assert.equal(res.code, 2, `${variable}: ${res.stderr}`);
        assert.match(res.stderr, new RegExp(`${name}: invalid configuration: ${variable}`));
      }
      const open = await runNode(cli, [], {
        env: { [`${prefix}_LISTEN`]: '0.0.0.0:0', ORLY_GRPC_TOKEN: '', ORLY_GRPC_INSECURE: '' },
      });
      assert.equal(open.code, 2, open.stderr);
    },
    call<Res>(
      ClientClass: new (address: string, credentials: ChannelCredentials) => Client,
      port: number,
      method: string,
    ): Promise<Res> {
      const client = new ClientClass(`127.0.0.1:${port}`, credentials.createInsecure());
      return unaryCaller(SPLIT_TOKEN)<Res>(client, method, {}).finally(() => client.close());
    },
  };
}

function startBinary(cli: string, env: Record<string, string>): Promise<RunningBinary> {
  const child = spawn(process.execPath, [cli], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no grpc listening line:\n${out}`));
    }, 20_000);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening:\n${out}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+)[^\n]*"msg":"grpc listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          output: () => out,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

/**
 * orly-db and orly-acl (no access control) on 127.0.0.1 with SPLIT_TOKEN over a new directory
 * named `dirPrefix`..., started before the suite's tests and stopped (the directory removed)
 * after them. Call inside the describe; the result gives them once started.
 */
export function splitServicesForSuite(dirPrefix: string, logger: Logger): () => SplitServices {
  let dir: string | undefined;
  let services: SplitServices | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), dirPrefix));
    services = await startSplitServices({}, dir, logger);
  });
  after(async () => {
    await services?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    assert.ok(services, 'the suite has started');
    return services;
  };
}

/** grpc.health.v1 Check on 127.0.0.1:port (1 = SERVING). */
export function health(port: number): Promise<number> {
  const client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise<number>((resolve, reject) =>
    client.check({ service: '' }, (err, res) => (err ? reject(err) : resolve(res.status))),
  ).finally(() => client.close());
}

/** The log line containing `text`, asserted to be there and a warning. */
export function warningLine(output: string, text: string): string {
  const warning = output.split('\n').find((l) => l.includes(text));
  assert.ok(warning, output);
  assert.match(warning, /"level":"warn"/);
  return warning;
}
