/**
 * The replication scenario against strfry (only with ORLY_BENCH_STRFRY), measured like ours
 * (replication-scenario.ts) with the same load generators and options:
 * - lag: strfry relays A and B, `strfry router` on B's database streaming down from A (strfry's
 *   live replication); a publisher on A at the steady rate, subscribers on B;
 * - catch-up: the router and B stopped, the dataset published to A, B started again and
 *   `strfry sync <A> --dir down` run on B's database (the router does not fill gaps: it asks
 *   with `limit: 0`, so strfry's catch-up is negentropy); the time until B holds as many events
 *   as A, events per second, loopback bytes per event.
 */

import { crossRelayLagArgs, type LagLoad } from './fanout-scenario.js';
import { runLoad } from './load-runner.js';
import { loopbackBytes } from './procfs.js';
import { makeDataDir } from './relay-process.js';
import { backlogIngestArgs, countAll, replicationOutcome } from './replication-scenario.js';
import { type BenchContext, delay, MB, round, type ScenarioOutcome } from './scenario-harness.js';
import { runStrfry, STRFRY_BIN, StrfryRelay, StrfryRouter } from './strfry-process.js';

export async function strfryReplicationScenario(ctx: BenchContext): Promise<ScenarioOutcome> {
  if (!STRFRY_BIN) throw new Error('ORLY_BENCH_STRFRY is not set (the path of a strfry binary)');
  const o = ctx.options;
  const dataset = ctx.getDataset();
  const [dirA, dirB] = [makeDataDir(), makeDataDir()];
  const a = await StrfryRelay.start(dirA, 'strfry-replication-a');
  let b: StrfryRelay | undefined;
  let router: StrfryRouter | undefined;
  try {
    b = await StrfryRelay.start(dirB, 'strfry-replication-b');
    router = StrfryRouter.start(dirB, a.url, 'strfry-replication-router');
    await delay(2000); // the router connects (as the relay scenario gives its live link time)
    const routerCpu0 = router.cpu();
    const lag = (
      await runLoad<LagLoad>({
        script: 'load-fanout',
        args: crossRelayLagArgs(o, a.url, b.url, 10, 300),
      })
    ).result;
    const routerCpu = router.cpu() - routerCpu0;
    await router.stop();
    await b.stop();
    const ingest = (
      await runLoad<{ accepted: number }>({
        script: 'load-ingest',
        args: backlogIngestArgs(o, a.url, dataset.file),
      })
    ).result;
    const target = await countAll(a.url);
    const lo0 = loopbackBytes();
    const started = performance.now();
    b = await StrfryRelay.start(dirB, 'strfry-replication-b-restart');
    const sync = await runStrfry(dirB, ['sync', a.url, '--dir', 'down'], { timeoutMs: 600_000 });
    const have = await countAll(b.url);
    const catchUpSeconds = (performance.now() - started) / 1000;
    const loopback = loopbackBytes() - lo0;
    const caughtUp = sync.code === 0 && have >= target;
    const missed = caughtUp
      ? undefined
      : `strfry sync exited ${sync.code}; the replica held ${have} of ${target} events`;
    const catchUp = { events: ingest.accepted, target, have, seconds: catchUpSeconds, loopback };
    const extra = { routerCpuSeconds: round(routerCpu, 2), replicaRssMB: round(b.rss() / MB) };
    return replicationOutcome(o, lag, catchUp, missed, extra);
  } finally {
    await router?.stop();
    await b?.stop();
    await a.stop();
  }
}
