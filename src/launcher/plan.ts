/**
 * The launch plan: which services run, in which stages, with which command line, environment,
 * readiness probe and timeout. Pure data built from LauncherConfig + the launcher's environment;
 * launcher.ts executes it.
 *
 * Stages (started in this order, stopped in reverse):
 *   1. orly-db                      grpc health          ORLY_LAUNCHER_DB_READY_TIMEOUT
 *   2. orly-acl (when enabled)      grpc health          ORLY_LAUNCHER_ACL_READY_TIMEOUT
 *   3. enabled sync services, in parallel, grpc health   ORLY_LAUNCHER_SYNC_READY_TIMEOUT
 *      (orly-sync-relaygroup in a stage of its own after them when orly-sync-distributed runs:
 *      it pushes the group's relays there)
 *   4. orly (the relay)             GET /health = 200    ORLY_LAUNCHER_RELAY_READY_TIMEOUT
 *
 * Environment: every child inherits the launcher's environment (ORLY_GRPC_TLS_*, ORLY_GRPC_TOKEN,
 * ORLY_DATA_DIR, ORLY_PORT, ORLY_OWNERS, ...), plus:
 *   orly-db      ORLY_DB_LISTEN=<db listen>
 *   orly-acl     ORLY_ACL_LISTEN=<acl listen>, ORLY_ACL_DB_TYPE=grpc, ORLY_ACL_GRPC_DB_SERVER=<db>;
 *                ORLY_ACL_MODE (none | follows | managed | curating) is inherited and checked by orly-acl
 *   sync <X>     ORLY_SYNC_<X>_LISTEN, ORLY_SYNC_<X>_DB_TYPE=grpc, ORLY_SYNC_<X>_DB_SERVER=<db>
 *                (every sync service: this package's orly-sync-* CLI unless its BINARY is set);
 *                distributed and cluster also get ORLY_GRPC_ACL_SERVER=<acl> with ACL (replicated
 *                events pass orly-acl), else none (an inherited one is removed: only signatures and
 *                the store's rules apply); relaygroup also gets
 *                ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER=<distributed> when distributed is enabled
 *                (else an inherited one is kept)
 *   orly         ORLY_DB_TYPE=grpc, ORLY_GRPC_SERVER=<db>; with ACL: ORLY_ACL_TYPE=grpc,
 *                ORLY_GRPC_ACL_SERVER=<acl>. Without the ACL service both are removed, so the
 *                relay runs its in-process ACL in ORLY_ACL_MODE (default none = open). Unlike
 *                ORLY, which forces ORLY_ACL_MODE=none there, an explicit ORLY_ACL_MODE=follows
 *                is honoured (in-process follows over the gRPC store): never silently open;
 *                with any sync service: ORLY_SYNC_TYPE=grpc and ORLY_GRPC_SYNC_<X>=<listen> per
 *                enabled service; negentropy also ORLY_NEGENTROPY_ENABLED=true.
 * Every child also gets ORLY_LAUNCHER_PID (the launcher's pid): our services stop by themselves
 * when their parent is no longer that process (a SIGKILLed launcher leaves no orphans behind).
 * Addresses handed to clients are dial addresses (a 0.0.0.0 / :: listen is dialled on loopback).
 * When ORLY_GRPC_TOKEN is unset and ORLY_LAUNCHER_GENERATE_TOKEN is true (default), a random
 * token is generated for this launch and given to every child, so other local users cannot
 * talk to orly-db / orly-acl directly.
 */

import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../config/env.js';
import { ConfigError } from '../config/env.js';
import type { GrpcSecurity } from '../grpc/security.js';
import { dialAddress, type LauncherConfig, type RestartPolicy } from './config.js';
import { grpcHealthProbe, httpHealthProbe, type Probe } from './readiness.js';
import type { ProcessSpec } from './supervisor.js';

export type Stage = 'db' | 'acl' | 'sync' | 'relay';

/** The sync services this package implements (run from its own CLIs unless a BINARY is given). */
/** The sync services that store replicated events: they get orly-acl's address when it runs. */
const REPLICATING_SERVICES: ReadonlySet<string> = new Set(['DISTRIBUTED', 'CLUSTER']);

export interface ServicePlan extends ProcessSpec {
  readonly stage: Stage;
  /** A fresh probe for one readiness wait. */
  readonly probe: () => Probe;
  readonly readyTimeoutMs: number;
  /** The variable that chose the binary (for messages). */
  readonly binaryVariable: string;
  readonly readyTimeoutVariable: string;
}

export interface LaunchPlan {
  /** Started in order; the services of one stage start in parallel. */
  readonly stages: readonly (readonly ServicePlan[])[];
  readonly stopTimeoutMs: number;
  readonly restart: RestartPolicy;
}

/** This package's own CLIs (dist/src/cli/*.js next to this compiled file). */
export function ownCli(file: string): string {
  return fileURLToPath(new URL(`../cli/${file}`, import.meta.url));
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * How to run a configured binary: *.js/.mjs/.cjs with this Node; a path must exist and be
 * executable; a bare name is searched in PATH. Throws a ConfigError naming `variable`.
 */
export function resolveBinary(
  binary: string,
  variable: string,
  env: Env,
  missingHint = '',
): { command: string; args: string[] } {
  const hint = missingHint ? `; ${missingHint}` : '';
  if (/\.(c|m)?js$/.test(binary)) {
    const path = resolve(binary);
    if (!existsSync(path)) throw new ConfigError(variable, `${path} does not exist${hint}`);
    return { command: process.execPath, args: [...NODE_ARGS_DEFAULT, path] };
  }
  if (binary.includes('/')) {
    const path = isAbsolute(binary) ? binary : resolve(binary);
    if (!isExecutableFile(path)) throw new ConfigError(variable, `${path} is not an executable file${hint}`);
    return { command: path, args: [] };
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    if (isExecutableFile(candidate)) return { command: candidate, args: [] };
  }
  throw new ConfigError(variable, `${binary} was not found in PATH${hint}`);
}

/**
 * glibc's allocator settings for the children unless the operator set them: few arenas, and
 * freed memory at the top of a heap given back past 1 MiB. Without them, the buffers a burst of
 * large query results freed (many allocated on worker threads, each with its own arena) stay
 * resident long after the burst. Ignored by other C libraries.
 */
export const MALLOC_DEFAULTS: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_TRIM_THRESHOLD_: '1048576',
  MALLOC_MMAP_THRESHOLD_: '131072',
};

/**
 * V8 options for the children unless NODE_OPTIONS is set: the helper thread pool at half the cores
 * (at least one) instead of Node's 4. The relay and orly-db run their own worker threads (queries,
 * signature checks); on a 2-core machine four GC helpers competing with them cost 10% of query
 * and fan-out throughput and 25-40% in split mode (docs/benchmarks.md, "V8 helper threads").
 */
export function nodeOptionsDefault(cores: number = availableParallelism()): string {
  return `--v8-pool-size=${Math.max(1, Math.floor(cores / 2))}`;
}

/**
 * Node arguments of the children this launcher runs with its own Node (*.js binaries; V8's heap
 * options are not allowed in NODE_OPTIONS): the heap every isolate starts with. With V8's default a
 * process whose live heap is small (15-20 MB) but which streams query results through it runs a
 * full mark-compact every ~50 ms (its old-generation limit is kept close to the live size): 15-18%
 * of the event loop in split-mode queries, in both the relay and orly-db. Starting at 128 MB: query
 * +10% local, +30% split; the price is garbage that stays longer (idle connections +0.3-1.7 KB each
 * until collected, ingest peak RSS +80 MB) (docs/benchmarks.md, "V8 heap start size"). `npm start`
 * passes the same.
 */
export const NODE_ARGS_DEFAULT: readonly string[] = ['--initial-heap-size=128'];

/**
 * The environment shared by every child: the launcher's (with MALLOC_DEFAULTS and NODE_OPTIONS
 * (nodeOptionsDefault) where unset), its pid (ORLY_LAUNCHER_PID), plus a generated token when asked.
 */
export function childBaseEnv(
  config: LauncherConfig,
  env: Env,
  launcherPid: number = process.pid,
): { env: Env; tokenGenerated: boolean } {
  const out: Env = {
    ...MALLOC_DEFAULTS,
    NODE_OPTIONS: nodeOptionsDefault(),
    ...env,
    ORLY_LAUNCHER_PID: String(launcherPid),
  };
  if (config.generateToken && !env.ORLY_GRPC_TOKEN?.trim()) {
    out.ORLY_GRPC_TOKEN = randomBytes(32).toString('base64url');
    return { env: out, tokenGenerated: true };
  }
  return { env: out, tokenGenerated: false };
}

/**
 * orly-sync-relaygroup pushes to orly-sync-distributed: when both run, it leaves the sync stage
 * for a stage of its own right after it, so it starts once orly-sync-distributed is ready (and
 * stops before it).
 */
function relayGroupAfterDistributed(stages: ServicePlan[][]): void {
  const sync = stages.at(-1);
  if (sync === undefined || !sync.some((p) => p.name === 'orly-sync-distributed')) return;
  const group = sync.findIndex((p) => p.name === 'orly-sync-relaygroup');
  if (group < 0) return;
  stages.push(sync.splice(group, 1));
}

/**
 * Builds the plan. `env` is the children's base environment (see childBaseEnv); `security`
 * is the launcher's own transport security for the gRPC readiness probes.
 */
export function buildLaunchPlan(config: LauncherConfig, env: Env, security: GrpcSecurity): LaunchPlan {
  const db = dialAddress(config.dbListen);
  const acl = dialAddress(config.aclListen);
  const enabledSync = config.sync.filter((s) => s.enabled);

  const dbBin = resolveBinary(
    config.dbBinary ?? ownCli('orly-db.js'),
    'ORLY_LAUNCHER_DB_BINARY',
    env,
    config.dbBinary ? '' : 'build this package (npm run build) or set ORLY_LAUNCHER_DB_BINARY',
  );
  const stages: ServicePlan[][] = [
    [
      {
        name: 'orly-db',
        stage: 'db',
        ...dbBin,
        env: { ...env, ORLY_DB_LISTEN: config.dbListen, ORLY_DB_BACKEND: config.dbBackend },
        probe: () => grpcHealthProbe(db, security),
        readyTimeoutMs: config.dbReadyTimeoutMs,
        binaryVariable: 'ORLY_LAUNCHER_DB_BINARY',
        readyTimeoutVariable: 'ORLY_LAUNCHER_DB_READY_TIMEOUT',
      },
    ],
  ];

  if (config.aclEnabled) {
    const aclBin = resolveBinary(
      config.aclBinary ?? ownCli('orly-acl.js'),
      'ORLY_LAUNCHER_ACL_BINARY',
      env,
      config.aclBinary ? '' : 'build this package (npm run build) or set ORLY_LAUNCHER_ACL_BINARY',
    );
    stages.push([
      {
        name: 'orly-acl',
        stage: 'acl',
        ...aclBin,
        env: {
          ...env,
          ORLY_ACL_LISTEN: config.aclListen,
          ORLY_ACL_DB_TYPE: 'grpc',
          ORLY_ACL_GRPC_DB_SERVER: db,
        },
        probe: () => grpcHealthProbe(acl, security),
        readyTimeoutMs: config.aclReadyTimeoutMs,
        binaryVariable: 'ORLY_LAUNCHER_ACL_BINARY',
        readyTimeoutVariable: 'ORLY_LAUNCHER_ACL_READY_TIMEOUT',
      },
    ]);
  }

  if (enabledSync.length > 0) {
    stages.push(
      enabledSync.map((s): ServicePlan => {
        const variable = `ORLY_LAUNCHER_SYNC_${s.key}_BINARY`;
        // Every orly-sync-* service is part of this package: its CLI unless a BINARY is set.
        const own = !s.binaryConfigured;
        const bin = resolveBinary(
          own ? ownCli(`${s.name}.js`) : s.binary,
          variable,
          env,
          own
            ? `build this package (npm run build) or set ${variable}`
            : `point ${variable} at an executable, or unset it to run this package's ${s.name}`,
        );
        const address = dialAddress(s.listen);
        const serviceEnv: Env = {
          ...env,
          [`ORLY_SYNC_${s.key}_LISTEN`]: s.listen,
          [`ORLY_SYNC_${s.key}_DB_TYPE`]: 'grpc',
          [`ORLY_SYNC_${s.key}_DB_SERVER`]: db,
        };
        if (REPLICATING_SERVICES.has(s.key)) {
          if (config.aclEnabled) serviceEnv.ORLY_GRPC_ACL_SERVER = acl;
          else delete serviceEnv.ORLY_GRPC_ACL_SERVER;
        }
        const distributed = enabledSync.find((d) => d.key === 'DISTRIBUTED');
        if (s.key === 'RELAYGROUP' && distributed !== undefined)
          serviceEnv.ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER = dialAddress(distributed.listen);
        return {
          name: s.name,
          stage: 'sync',
          ...bin,
          env: serviceEnv,
          probe: () => grpcHealthProbe(address, security),
          readyTimeoutMs: config.syncReadyTimeoutMs,
          binaryVariable: variable,
          readyTimeoutVariable: 'ORLY_LAUNCHER_SYNC_READY_TIMEOUT',
        };
      }),
    );
  }

  relayGroupAfterDistributed(stages);

  const relayEnv: Env = { ...env, ORLY_DB_TYPE: 'grpc', ORLY_GRPC_SERVER: db };
  if (config.aclEnabled) {
    relayEnv.ORLY_ACL_TYPE = 'grpc';
    relayEnv.ORLY_GRPC_ACL_SERVER = acl;
  } else {
    delete relayEnv.ORLY_ACL_TYPE;
    delete relayEnv.ORLY_GRPC_ACL_SERVER;
  }
  if (enabledSync.length > 0) relayEnv.ORLY_SYNC_TYPE = 'grpc';
  for (const s of enabledSync) {
    relayEnv[`ORLY_GRPC_SYNC_${s.key}`] = dialAddress(s.listen);
    if (s.key === 'NEGENTROPY') relayEnv.ORLY_NEGENTROPY_ENABLED = 'true';
  }
  const relayBin = resolveBinary(
    config.relayBinary ?? ownCli('orly.js'),
    'ORLY_LAUNCHER_RELAY_BINARY',
    env,
    config.relayBinary ? '' : 'build this package (npm run build) or set ORLY_LAUNCHER_RELAY_BINARY',
  );
  stages.push([
    {
      name: 'orly',
      stage: 'relay',
      ...relayBin,
      env: relayEnv,
      probe: () => httpHealthProbe(config.relayHealthUrl),
      readyTimeoutMs: config.relayReadyTimeoutMs,
      binaryVariable: 'ORLY_LAUNCHER_RELAY_BINARY',
      readyTimeoutVariable: 'ORLY_LAUNCHER_RELAY_READY_TIMEOUT',
    },
  ]);

  return { stages, stopTimeoutMs: config.stopTimeoutMs, restart: config.restart };
}
