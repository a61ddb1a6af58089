/**
 * Launcher configuration and launch plan, without processes: durations, defaults, validation
 * messages naming the variable, binary resolution (own CLIs, PATH, missing sync binaries), the
 * environment each child receives, and the per-launch token.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/config/env.js';
import { dialAddress, loadLauncherConfig, parseDuration } from '../../src/launcher/config.js';
import {
  buildLaunchPlan,
  childBaseEnv,
  NODE_ARGS_DEFAULT,
  nodeOptionsDefault,
  ownCli,
} from '../../src/launcher/plan.js';

let dir: string;
let fakeBin: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orly-launcher-cfg-'));
  fakeBin = join(dir, 'orly-sync-negentropy');
  writeFileSync(fakeBin, '#!/bin/sh\nexit 0\n');
  chmodSync(fakeBin, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function configError(variable: string, pattern: RegExp) {
  return (err: Error) => {
    assert.ok(err instanceof ConfigError, `ConfigError, got ${err}`);
    assert.equal(err.variable, variable);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('launcher config', () => {
  test('durations', () => {
    assert.equal(parseDuration('30s', 'X'), 30_000);
    assert.equal(parseDuration('500ms', 'X'), 500);
    assert.equal(parseDuration('2m', 'X'), 120_000);
    assert.equal(parseDuration('1h', 'X'), 3_600_000);
    assert.equal(parseDuration('1m30s', 'X'), 90_000);
    assert.equal(parseDuration('30', 'X'), 30_000);
    assert.equal(parseDuration('1.5', 'X'), 1500);
    assert.throws(
      () => parseDuration('10x', 'ORLY_LAUNCHER_DB_READY_TIMEOUT'),
      configError('ORLY_LAUNCHER_DB_READY_TIMEOUT', /expected a duration/),
    );
    assert.throws(() => parseDuration('', 'X'), /expected a duration/);
    assert.throws(() => parseDuration('-1s', 'X'), /expected a duration/);
  });

  test('defaults', () => {
    const c = loadLauncherConfig({});
    assert.equal(c.dbBackend, 'lmdb');
    assert.equal(c.dbListen, '127.0.0.1:50051');
    assert.equal(c.aclEnabled, false);
    assert.equal(c.aclListen, '127.0.0.1:50052');
    assert.equal(c.dbBinary, undefined);
    assert.equal(c.relayHealthUrl, 'http://127.0.0.1:3334/health');
    assert.equal(c.dbReadyTimeoutMs, 30_000);
    assert.equal(c.aclReadyTimeoutMs, 30_000);
    assert.equal(c.syncReadyTimeoutMs, 30_000);
    assert.equal(c.stopTimeoutMs, 10_000);
    assert.deepEqual(c.restart, {
      initialBackoffMs: 250,
      maxBackoffMs: 30_000,
      maxRestarts: 5,
      windowMs: 300_000,
    });
    assert.deepEqual(
      c.sync.map((s) => [s.name, s.enabled, s.binary, s.listen]),
      [
        ['orly-sync-distributed', false, 'orly-sync-distributed', '127.0.0.1:50061'],
        ['orly-sync-cluster', false, 'orly-sync-cluster', '127.0.0.1:50062'],
        ['orly-sync-relaygroup', false, 'orly-sync-relaygroup', '127.0.0.1:50063'],
        ['orly-sync-negentropy', false, 'orly-sync-negentropy', '127.0.0.1:50064'],
      ],
    );
    assert.equal(c.generateToken, true);
    const custom = loadLauncherConfig({
      ORLY_LISTEN: '::',
      ORLY_PORT: '7777',
      ORLY_LAUNCHER_ACL_ENABLED: 'true',
      ORLY_LAUNCHER_ACL_READY_TIMEOUT: '2m',
      ORLY_LAUNCHER_STOP_TIMEOUT: '500ms',
      ORLY_LAUNCHER_MAX_RESTARTS: '9',
      ORLY_LAUNCHER_RESTART_BACKOFF_MAX: '5s',
      ORLY_LAUNCHER_RESTART_WINDOW: '10m',
    });
    assert.equal(custom.relayHealthUrl, 'http://[::1]:7777/health');
    assert.equal(custom.aclEnabled, true);
    assert.equal(custom.aclReadyTimeoutMs, 120_000);
    assert.equal(custom.stopTimeoutMs, 500);
    assert.deepEqual(custom.restart, {
      initialBackoffMs: 250,
      maxBackoffMs: 5000,
      maxRestarts: 9,
      windowMs: 600_000,
    });
  });

  test('invalid values name the variable', () => {
    assert.throws(
      () => loadLauncherConfig({ ORLY_LAUNCHER_DB_BACKEND: 'badger' }),
      configError('ORLY_LAUNCHER_DB_BACKEND', /only "lmdb" and "postgres" exist/),
    );
    assert.throws(
      () => loadLauncherConfig({ ORLY_LAUNCHER_DB_BACKEND: 'postgres' }),
      configError('ORLY_POSTGRES_URL', /is required/),
    );
    assert.equal(
      loadLauncherConfig({ ORLY_LAUNCHER_DB_BACKEND: 'postgres', ORLY_POSTGRES_URL: 'postgres://db/orly' })
        .dbBackend,
      'postgres',
    );
    assert.throws(
      () => loadLauncherConfig({ ORLY_PORT: '0' }),
      configError('ORLY_PORT', /port 0 is not allowed/),
    );
    assert.throws(
      () => loadLauncherConfig({ ORLY_LAUNCHER_DB_LISTEN: '127.0.0.1:0' }),
      configError('ORLY_LAUNCHER_DB_LISTEN', /port 0/),
    );
    assert.throws(
      () => loadLauncherConfig({ ORLY_LAUNCHER_DB_LISTEN: 'nope' }),
      configError('ORLY_LAUNCHER_DB_LISTEN', /expected host:port/),
    );
    assert.throws(
      () => loadLauncherConfig({ ORLY_LAUNCHER_ACL_ENABLED: 'maybe' }),
      configError('ORLY_LAUNCHER_ACL_ENABLED', /expected true or false/),
    );
    assert.throws(
      () =>
        loadLauncherConfig({
          ORLY_LAUNCHER_ACL_ENABLED: 'true',
          ORLY_LAUNCHER_ACL_LISTEN: '0.0.0.0:50051',
        }),
      configError('ORLY_LAUNCHER_ACL_LISTEN', /also used by ORLY_LAUNCHER_DB_LISTEN/),
    );
    // A clash with a disabled service does not matter.
    loadLauncherConfig({ ORLY_LAUNCHER_ACL_LISTEN: '127.0.0.1:50051' });
    assert.throws(
      () => loadLauncherConfig({ ORLY_LAUNCHER_MAX_RESTARTS: '-1' }),
      configError('ORLY_LAUNCHER_MAX_RESTARTS', /between/),
    );
  });

  test('dial addresses map wildcard listens to loopback', () => {
    assert.equal(dialAddress('0.0.0.0:50051'), '127.0.0.1:50051');
    assert.equal(dialAddress('[::]:50051'), '[::1]:50051');
    assert.equal(dialAddress('10.1.2.3:50051'), '10.1.2.3:50051');
  });
});

describe('launch plan', () => {
  test("default binaries are this package's CLIs run with this Node; children get their env", () => {
    const env = {
      PATH: process.env.PATH,
      ORLY_ACL_TYPE: 'grpc',
      ORLY_GRPC_ACL_SERVER: 'stale:1',
      ORLY_DATA_DIR: '/data',
    };
    const config = loadLauncherConfig({ ORLY_LAUNCHER_DB_LISTEN: '0.0.0.0:6001' });
    const plan = buildLaunchPlan(config, env, {});
    assert.deepEqual(
      plan.stages.map((s) => s.map((p) => p.name)),
      [['orly-db'], ['orly']],
    );
    const [[db], [relay]] = plan.stages as [[(typeof plan.stages)[0][0]], [(typeof plan.stages)[0][0]]];
    assert.equal(db.command, process.execPath);
    assert.deepEqual(db.args, [...NODE_ARGS_DEFAULT, ownCli('orly-db.js')]);
    assert.equal(db.env.ORLY_DB_LISTEN, '0.0.0.0:6001');
    assert.equal(db.env.ORLY_DATA_DIR, '/data', 'inherited');
    assert.deepEqual(relay.args, [...NODE_ARGS_DEFAULT, ownCli('orly.js')]);
    assert.equal(relay.env.ORLY_DB_TYPE, 'grpc');
    assert.equal(relay.env.ORLY_GRPC_SERVER, '127.0.0.1:6001');
    assert.equal(relay.env.ORLY_ACL_TYPE, undefined, 'no ACL service: inherited ACL transport removed');
    assert.equal(relay.env.ORLY_GRPC_ACL_SERVER, undefined);
    assert.equal(relay.env.ORLY_SYNC_TYPE, undefined);
  });

  test('with ACL and a sync service', () => {
    const config = loadLauncherConfig({
      ORLY_LAUNCHER_ACL_ENABLED: 'true',
      ORLY_LAUNCHER_ACL_LISTEN: '127.0.0.1:6002',
      ORLY_LAUNCHER_SYNC_NEGENTROPY_ENABLED: 'true',
      ORLY_LAUNCHER_SYNC_NEGENTROPY_BINARY: fakeBin,
    });
    const plan = buildLaunchPlan(config, { PATH: process.env.PATH, ORLY_ACL_MODE: 'managed' }, {});
    assert.deepEqual(
      plan.stages.map((s) => s.map((p) => p.name)),
      [['orly-db'], ['orly-acl'], ['orly-sync-negentropy'], ['orly']],
    );
    const acl = plan.stages[1]![0]!;
    assert.deepEqual(acl.args, [...NODE_ARGS_DEFAULT, ownCli('orly-acl.js')]);
    assert.equal(
      acl.env.ORLY_ACL_MODE,
      'managed',
      'orly-acl runs the mode asked for (validated by orly-acl)',
    );
    assert.equal(acl.env.ORLY_ACL_LISTEN, '127.0.0.1:6002');
    assert.equal(acl.env.ORLY_ACL_DB_TYPE, 'grpc');
    assert.equal(acl.env.ORLY_ACL_GRPC_DB_SERVER, '127.0.0.1:50051');
    const neg = plan.stages[2]![0]!;
    assert.equal(neg.command, fakeBin);
    assert.equal(neg.env.ORLY_SYNC_NEGENTROPY_LISTEN, '127.0.0.1:50064');
    assert.equal(neg.env.ORLY_SYNC_NEGENTROPY_DB_SERVER, '127.0.0.1:50051');
    const relay = plan.stages[3]![0]!;
    assert.equal(relay.env.ORLY_ACL_TYPE, 'grpc');
    assert.equal(relay.env.ORLY_GRPC_ACL_SERVER, '127.0.0.1:6002');
    assert.equal(relay.env.ORLY_SYNC_TYPE, 'grpc');
    assert.equal(relay.env.ORLY_GRPC_SYNC_NEGENTROPY, '127.0.0.1:50064');
    assert.equal(relay.env.ORLY_NEGENTROPY_ENABLED, 'true');
  });

  test('orly-sync-distributed: our own CLI, after orly-db and orly-acl, the relay pointed at it', () => {
    const config = loadLauncherConfig({
      ORLY_LAUNCHER_ACL_ENABLED: 'true',
      ORLY_LAUNCHER_ACL_LISTEN: '127.0.0.1:6002',
      ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
      ORLY_LAUNCHER_SYNC_NEGENTROPY_ENABLED: 'true',
      ORLY_LAUNCHER_SYNC_NEGENTROPY_BINARY: fakeBin,
    });
    const plan = buildLaunchPlan(
      config,
      { PATH: dir, ORLY_SYNC_DISTRIBUTED_PEERS: 'wss://peer.example' },
      {},
    );
    assert.deepEqual(
      plan.stages.map((s) => s.map((p) => p.name)),
      [['orly-db'], ['orly-acl'], ['orly-sync-distributed', 'orly-sync-negentropy'], ['orly']],
    );
    const dist = plan.stages[2]![0]!;
    assert.equal(dist.command, process.execPath);
    assert.deepEqual(dist.args, [...NODE_ARGS_DEFAULT, ownCli('orly-sync-distributed.js')]);
    assert.equal(dist.binaryVariable, 'ORLY_LAUNCHER_SYNC_DISTRIBUTED_BINARY');
    assert.equal(dist.env.ORLY_SYNC_DISTRIBUTED_LISTEN, '127.0.0.1:50061');
    assert.equal(dist.env.ORLY_SYNC_DISTRIBUTED_DB_TYPE, 'grpc');
    assert.equal(dist.env.ORLY_SYNC_DISTRIBUTED_DB_SERVER, '127.0.0.1:50051');
    assert.equal(dist.env.ORLY_GRPC_ACL_SERVER, '127.0.0.1:6002', 'replicated events pass orly-acl');
    assert.equal(dist.env.ORLY_SYNC_DISTRIBUTED_PEERS, 'wss://peer.example', 'inherited');
    const neg = plan.stages[2]![1]!;
    assert.equal(neg.env.ORLY_GRPC_ACL_SERVER, undefined);
    const relay = plan.stages[3]![0]!;
    assert.equal(relay.env.ORLY_SYNC_TYPE, 'grpc');
    assert.equal(relay.env.ORLY_GRPC_SYNC_DISTRIBUTED, '127.0.0.1:50061');
    assert.equal(relay.env.ORLY_GRPC_SYNC_NEGENTROPY, '127.0.0.1:50064');

    // Without orly-acl: no ACL address for the service, even an inherited one; a listen of its own.
    const alone = buildLaunchPlan(
      loadLauncherConfig({
        ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
        ORLY_LAUNCHER_SYNC_DISTRIBUTED_LISTEN: '0.0.0.0:7061',
      }),
      { PATH: dir, ORLY_GRPC_ACL_SERVER: '127.0.0.1:50052' },
      {},
    );
    assert.deepEqual(
      alone.stages.map((s) => s.map((p) => p.name)),
      [['orly-db'], ['orly-sync-distributed'], ['orly']],
    );
    const service = alone.stages[1]![0]!;
    assert.equal(service.env.ORLY_GRPC_ACL_SERVER, undefined);
    assert.equal(service.env.ORLY_SYNC_DISTRIBUTED_LISTEN, '0.0.0.0:7061');
    assert.equal(alone.stages[2]![0]!.env.ORLY_GRPC_SYNC_DISTRIBUTED, '127.0.0.1:7061');
    // A binary of one's own.
    const custom = buildLaunchPlan(
      loadLauncherConfig({
        ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
        ORLY_LAUNCHER_SYNC_DISTRIBUTED_BINARY: fakeBin,
      }),
      { PATH: dir },
      {},
    );
    assert.equal(custom.stages[1]![0]!.command, fakeBin);
  });

  test('orly-sync-cluster: our own CLI, orly-acl for its replicated events, the relay pointed at it', () => {
    const env = { PATH: dir, ORLY_CLUSTER_ADMINS: 'ab'.repeat(32), ORLY_GRPC_ACL_SERVER: '10.0.0.9:1' };
    const plan = buildLaunchPlan(
      loadLauncherConfig({
        ORLY_LAUNCHER_ACL_ENABLED: 'true',
        ORLY_LAUNCHER_ACL_LISTEN: '127.0.0.1:6002',
        ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED: 'true',
      }),
      env,
      {},
    );
    assert.deepEqual(
      plan.stages.map((s) => s.map((p) => p.name)),
      [['orly-db'], ['orly-acl'], ['orly-sync-cluster'], ['orly']],
    );
    const cluster = plan.stages[2]![0]!;
    assert.equal(cluster.command, process.execPath);
    assert.deepEqual(cluster.args, [...NODE_ARGS_DEFAULT, ownCli('orly-sync-cluster.js')]);
    assert.equal(cluster.env.ORLY_SYNC_CLUSTER_LISTEN, '127.0.0.1:50062');
    assert.equal(cluster.env.ORLY_SYNC_CLUSTER_DB_TYPE, 'grpc');
    assert.equal(cluster.env.ORLY_SYNC_CLUSTER_DB_SERVER, '127.0.0.1:50051');
    assert.equal(cluster.env.ORLY_GRPC_ACL_SERVER, '127.0.0.1:6002');
    assert.equal(cluster.env.ORLY_CLUSTER_ADMINS, 'ab'.repeat(32), 'inherited');
    const relay = plan.stages[3]![0]!;
    assert.equal(relay.env.ORLY_SYNC_TYPE, 'grpc');
    assert.equal(relay.env.ORLY_GRPC_SYNC_CLUSTER, '127.0.0.1:50062');
    // Without orly-acl: none, even an inherited one.
    const alone = buildLaunchPlan(
      loadLauncherConfig({ ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED: 'true' }),
      env,
      {},
    );
    assert.equal(alone.stages[1]![0]!.env.ORLY_GRPC_ACL_SERVER, undefined);
  });

  test('orly-sync-relaygroup: our own CLI, after orly-sync-distributed when that runs, pointed at it', () => {
    const plan = buildLaunchPlan(
      loadLauncherConfig({
        ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
        ORLY_LAUNCHER_SYNC_DISTRIBUTED_LISTEN: '0.0.0.0:7061',
        ORLY_LAUNCHER_SYNC_RELAYGROUP_ENABLED: 'true',
        ORLY_LAUNCHER_SYNC_NEGENTROPY_ENABLED: 'true',
      }),
      { PATH: dir, ORLY_RELAY_GROUP_ADMINS: 'ab'.repeat(32) },
      {},
    );
    assert.deepEqual(
      plan.stages.map((s) => s.map((p) => p.name)),
      [['orly-db'], ['orly-sync-distributed', 'orly-sync-negentropy'], ['orly-sync-relaygroup'], ['orly']],
    );
    const group = plan.stages[2]![0]!;
    assert.equal(group.stage, 'sync');
    assert.equal(group.command, process.execPath);
    assert.deepEqual(group.args, [...NODE_ARGS_DEFAULT, ownCli('orly-sync-relaygroup.js')]);
    assert.equal(group.binaryVariable, 'ORLY_LAUNCHER_SYNC_RELAYGROUP_BINARY');
    assert.equal(group.env.ORLY_SYNC_RELAYGROUP_LISTEN, '127.0.0.1:50063');
    assert.equal(group.env.ORLY_SYNC_RELAYGROUP_DB_TYPE, 'grpc');
    assert.equal(group.env.ORLY_SYNC_RELAYGROUP_DB_SERVER, '127.0.0.1:50051');
    assert.equal(group.env.ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER, '127.0.0.1:7061', 'a dial address');
    assert.equal(group.env.ORLY_RELAY_GROUP_ADMINS, 'ab'.repeat(32), 'inherited');
    const relay = plan.stages[3]![0]!;
    assert.equal(relay.env.ORLY_GRPC_SYNC_RELAYGROUP, '127.0.0.1:50063');
    assert.equal(relay.env.ORLY_GRPC_SYNC_DISTRIBUTED, '127.0.0.1:7061');

    // Without orly-sync-distributed: in the sync stage, an inherited address kept.
    const alone = buildLaunchPlan(
      loadLauncherConfig({ ORLY_LAUNCHER_SYNC_RELAYGROUP_ENABLED: 'true' }),
      { PATH: dir, ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER: '10.0.0.5:50061' },
      {},
    );
    assert.deepEqual(
      alone.stages.map((s) => s.map((p) => p.name)),
      [['orly-db'], ['orly-sync-relaygroup'], ['orly']],
    );
    assert.equal(alone.stages[1]![0]!.env.ORLY_SYNC_RELAYGROUP_DISTRIBUTED_SERVER, '10.0.0.5:50061');
    // A binary of one's own.
    const custom = buildLaunchPlan(
      loadLauncherConfig({
        ORLY_LAUNCHER_SYNC_RELAYGROUP_ENABLED: 'true',
        ORLY_LAUNCHER_SYNC_RELAYGROUP_BINARY: fakeBin,
      }),
      { PATH: dir },
      {},
    );
    assert.equal(custom.stages[1]![0]!.command, fakeBin);
  });

  test('an enabled sync service whose binary cannot be found stops the launch with a clear message', () => {
    // A binary of one's own that is not there: named, and the way back to this package's CLI.
    const config = loadLauncherConfig({
      ORLY_LAUNCHER_SYNC_CLUSTER_ENABLED: 'true',
      ORLY_LAUNCHER_SYNC_CLUSTER_BINARY: 'orly-sync-cluster-elsewhere',
    });
    assert.throws(
      () => buildLaunchPlan(config, { PATH: dir }, {}),
      configError(
        'ORLY_LAUNCHER_SYNC_CLUSTER_BINARY',
        /orly-sync-cluster-elsewhere was not found in PATH; point ORLY_LAUNCHER_SYNC_CLUSTER_BINARY at an executable, or unset it to run this package's orly-sync-cluster/,
      ),
    );
    assert.throws(
      () =>
        buildLaunchPlan(
          loadLauncherConfig({
            ORLY_LAUNCHER_SYNC_DISTRIBUTED_ENABLED: 'true',
            ORLY_LAUNCHER_SYNC_DISTRIBUTED_BINARY: join(dir, 'no-such-sync.js'),
          }),
          { PATH: dir },
          {},
        ),
      configError('ORLY_LAUNCHER_SYNC_DISTRIBUTED_BINARY', /no-such-sync\.js does not exist; point/),
    );
    // Found in PATH by bare name.
    const ok = buildLaunchPlan(
      loadLauncherConfig({
        ORLY_LAUNCHER_SYNC_NEGENTROPY_ENABLED: 'true',
        ORLY_LAUNCHER_SYNC_NEGENTROPY_BINARY: 'orly-sync-negentropy',
      }),
      { PATH: dir },
      {},
    );
    assert.equal(ok.stages[1]![0]!.command, fakeBin);
    // Unset: this package's orly-sync-negentropy with this Node.
    const own = buildLaunchPlan(
      loadLauncherConfig({ ORLY_LAUNCHER_SYNC_NEGENTROPY_ENABLED: 'true' }),
      { PATH: dir },
      {},
    );
    assert.equal(own.stages[1]![0]!.command, process.execPath);
    assert.match(own.stages[1]![0]!.args.at(-1)!, /orly-sync-negentropy\.js$/);
    assert.throws(
      () => buildLaunchPlan(loadLauncherConfig({ ORLY_LAUNCHER_DB_BINARY: join(dir, 'missing.js') }), {}, {}),
      configError('ORLY_LAUNCHER_DB_BINARY', /missing\.js does not exist/),
    );
    assert.throws(
      () => buildLaunchPlan(loadLauncherConfig({ ORLY_LAUNCHER_RELAY_BINARY: './no/such/orly' }), {}, {}),
      configError('ORLY_LAUNCHER_RELAY_BINARY', /is not an executable file/),
    );
  });

  test('the V8 helper pool: half the cores, at least one', () => {
    assert.equal(nodeOptionsDefault(1), '--v8-pool-size=1');
    assert.equal(nodeOptionsDefault(2), '--v8-pool-size=1');
    assert.equal(nodeOptionsDefault(3), '--v8-pool-size=1');
    assert.equal(nodeOptionsDefault(16), '--v8-pool-size=8');
  });

  test('a per-launch token unless one is configured or generation is off', () => {
    const gen = childBaseEnv(loadLauncherConfig({}), { A: '1' });
    assert.equal(gen.tokenGenerated, true);
    assert.match(gen.env.ORLY_GRPC_TOKEN!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(gen.env.A, '1');
    assert.equal(gen.env.MALLOC_ARENA_MAX, '2', 'glibc allocator defaults for the children');
    assert.equal(childBaseEnv(loadLauncherConfig({}), { MALLOC_ARENA_MAX: '4' }).env.MALLOC_ARENA_MAX, '4');
    assert.equal(gen.env.NODE_OPTIONS, nodeOptionsDefault(), 'V8 helper pool sized for the cores');
    assert.equal(childBaseEnv(loadLauncherConfig({}), { NODE_OPTIONS: '' }).env.NODE_OPTIONS, '');
    const kept = childBaseEnv(loadLauncherConfig({}), { ORLY_GRPC_TOKEN: 'configured-token-123456' });
    assert.equal(kept.tokenGenerated, false);
    assert.equal(kept.env.ORLY_GRPC_TOKEN, 'configured-token-123456');
    const off = childBaseEnv(loadLauncherConfig({ ORLY_LAUNCHER_GENERATE_TOKEN: 'false' }), {});
    assert.equal(off.tokenGenerated, false);
    assert.equal(off.env.ORLY_GRPC_TOKEN, undefined);
  });
});
