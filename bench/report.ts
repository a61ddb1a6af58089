/**
 * The benchmark report: a console table, bench-results/<timestamp>.json with everything, and
 * bench-results/<timestamp>.md, a markdown snippet for docs/benchmarks.md. Targets are the
 * project's goals (docs/benchmarks.md); "met" compares the measured numbers with them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeMachine, type MachineInfo } from './machine.js';
import type { BenchOptions, Scenario } from './options.js';
import { RESULTS_DIR } from './paths.js';
import type { Metrics, ScenarioResult } from './scenarios.js';

export interface BenchRun {
  machine: MachineInfo;
  options: BenchOptions;
  wallSeconds: number;
  results: ScenarioResult[];
}

interface Row {
  scenario: string;
  measured: string;
  latency: string;
  target: string;
  met: string;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
const fmt = (v: unknown, digits = 0) => {
  const n = num(v);
  if (Number.isNaN(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
};
const ms = (v: unknown) => `${fmt(v, 2)} ms`;
const yesNo = (ok: boolean) => (ok ? 'yes' : 'NO');

const LABELS: Record<Scenario, string> = {
  ingest: 'Ingest',
  'ingest-strfry': 'Ingest, strfry',
  'ingest-postgres': 'Ingest, PostgreSQL',
  'query-postgres': 'Query, PostgreSQL',
  'fanout-latency-postgres': 'Fan-out latency, PostgreSQL',
  'fanout-throughput-postgres': 'Fan-out throughput, PostgreSQL',
  'postgres-three-relays': 'Three relays on one PostgreSQL',
  'query-strfry': 'Query, strfry',
  'fanout-latency-strfry': 'Fan-out latency, strfry',
  'fanout-throughput-strfry': 'Fan-out throughput, strfry',
  'memory-strfry': 'Idle connections, strfry',
  query: 'Query',
  'fanout-latency': 'Fan-out latency',
  'fanout-throughput': 'Fan-out throughput',
  memory: 'Idle connections',
  'ingest-split': 'Ingest, split mode',
  'ingest-plugin': 'Ingest, pass-through strfry plugin',
  'ingest-policy': 'Ingest, ORLY policy file',
  replication: 'Replication (distributed sync, two relays)',
  'replication-split': 'Replication, split mode (each relay on its own orly-db)',
  'replication-strfry': 'Replication, strfry (router live, sync catch-up)',
  'query-split': 'Query, split mode',
  sync: 'Negentropy sync',
  'sync-1m': 'Negentropy sync, 1M',
  strfry: 'Against strfry',
};

/** Split-mode throughput as a fraction of local mode's, measured in the same run. */
function splitRatio(run: BenchRun, local: Scenario, split: Scenario, key: string): number | undefined {
  const a = run.results.find((r) => r.scenario === local && r.status === 'ok')?.metrics[key];
  const b = run.results.find((r) => r.scenario === split && r.status === 'ok')?.metrics[key];
  return typeof a === 'number' && typeof b === 'number' && a > 0 ? b / a : undefined;
}

const MIB = 1_048_576;

function ratioText(ratio: number | undefined): string {
  return ratio === undefined ? 'no local run to compare' : `${ratio.toFixed(2)}× local`;
}

/**
 * The load scenarios measured against strfry too: the metric compared, and whether more is better.
 * The strfry row shows ours ÷ strfry (more is better) or strfry ÷ ours (less is better): > 1 = ahead.
 */
const VERSUS_STRFRY: Partial<Record<Scenario, { ours: Scenario; key: string; more: boolean; what: string }>> =
  {
    'ingest-strfry': { ours: 'ingest', key: 'eventsPerSec', more: true, what: 'events/s' },
    'query-strfry': { ours: 'query', key: 'reqsPerSec', more: true, what: 'REQ/s' },
    'fanout-latency-strfry': { ours: 'fanout-latency', key: 'p99Ms', more: false, what: 'p99 latency' },
    'fanout-throughput-strfry': {
      ours: 'fanout-throughput',
      key: 'deliveriesPerSec',
      more: true,
      what: 'deliveries/s',
    },
    'memory-strfry': { ours: 'memory', key: 'bytesPerConnection', more: false, what: 'bytes per connection' },
  };

function versusStrfry(scenario: Scenario, m: Metrics, run: BenchRun): Omit<Row, 'scenario'> | undefined {
  const spec = VERSUS_STRFRY[scenario];
  if (spec === undefined) return undefined;
  const base = rowFor(spec.ours, m, run);
  const ours = run.results.find((r) => r.scenario === spec.ours && r.status === 'ok')?.metrics[spec.key];
  const theirs = m[spec.key];
  const ratio =
    typeof ours === 'number' && typeof theirs === 'number' && ours > 0 && theirs > 0
      ? spec.more
        ? ours / theirs
        : theirs / ours
      : undefined;
  return {
    ...base,
    target: `ours vs strfry, ${spec.what}: ${ratio === undefined ? 'no run of ours to compare' : `${ratio.toFixed(2)}×`} (> 1: ours ahead)`,
    met: ratio === undefined ? '—' : yesNo(ratio > 1),
  };
}

function rowFor(scenario: Scenario, m: Metrics, run: BenchRun): Omit<Row, 'scenario'> {
  const versus = versusStrfry(scenario, m, run);
  if (versus !== undefined) return versus;
  switch (scenario) {
    case 'sync':
      return {
        measured: `${fmt(m.relayEvents)} vs ${fmt(m.localEvents)} events, ${fmt(m.differingEachWay)} differing each way, ${fmt(m.frameSizeLimit)}-byte frames: reconcile ${fmt(m.rounds)} round trips, ${fmt(num(m.bytesUp) / 1024, 0)} KiB up / ${fmt(num(m.bytesDown) / 1024, 0)} KiB down, relay CPU ${fmt(m.relayCpuSecondsReconcile, 2)} s; full sync both ways (${fmt(m.downloaded)} down, ${fmt(m.uploaded)} up) ${fmt(m.bothSeconds, 2)} s`,
        latency: `reconcile ${fmt(m.reconcileSeconds, 2)} s wall (process start included)`,
        target: 'strfry: 6 round trips, 0.04 s relay CPU at 100,000 events',
        met: '—',
      };
    case 'sync-1m':
      return {
        measured: `${fmt(m.relayEvents)} vs ${fmt(m.localEvents)} events, ${fmt(m.differingEachWay)} differing each way, ${fmt(m.frameSizeLimit)} / ${fmt(m.relayFrameSizeLimit)}-byte frames: ${fmt(m.rounds)} round trips, ${fmt(num(m.bytesUp) / MIB, 2)} MiB up / ${fmt(num(m.bytesDown) / MIB, 2)} MiB down on the wire, have ${fmt(m.have)} / need ${fmt(m.need)}; relay CPU ${fmt(m.relayCpuSeconds, 2)} s (again: ${fmt(m.relayCpuSecondsSecondRun, 2)} s); relay anonymous memory ${fmt(m.relayAnonStartMiB)} MiB at start, peak ${fmt(m.relayAnonPeakFirstMiB)} / ${fmt(m.relayAnonPeakSecondMiB)} MiB during the two runs, ${fmt(m.relayAnonEndMiB)} MiB after`,
        latency: `reconcile ${fmt(m.reconcileSeconds, 2)} s wall (process start and local item listing included)`,
        target: 'relay CPU ≤ 1.5 s; strfry: 91 round trips, 5.6 / 13.9 MiB',
        met: yesNo(
          num(m.relayCpuSeconds) <= 1.5 &&
            num(m.have) === num(m.differingEachWay) &&
            num(m.need) === num(m.differingEachWay),
        ),
      };
    case 'strfry': {
      const run = (key: string): string =>
        `${fmt(m[`${key}_rounds`])} rounds, ${fmt(num(m[`${key}_bytesUp`]) / MIB, 2)} / ${fmt(num(m[`${key}_bytesDown`]) / MIB, 2)} MiB, CPU ${fmt(m[`${key}_relayCpuSeconds`], 2)} s`;
      return {
        measured:
          `interop ${fmt(m.interopEvents)} signed events/side, ${fmt(m.interopDiffering)} differing, both directions OK; ` +
          `reconcile at 100k — strfry: ${run('strfryAll100k')} (again ${fmt(m['strfryAll100k_2_relayCpuSeconds'], 2)} s); ours: ${run('orlyAll100k')} (again ${fmt(m['orlyAll100k_2_relayCpuSeconds'], 2)} s); ` +
          `1M vs 1M {} — strfry (stored tree): ${run('strfryAll1M')}; ours: ${run('orlyAll1M')}; ` +
          `{"kinds":[1]} — strfry (in-memory list): ${run('strfryKind11M')}; ours: ${run('orlyKind11M')}`,
        latency: '—',
        target: 'same round trips, wire bytes within 10%, relay CPU ≤ 1.5 s at 1M',
        met: yesNo(
          num(m.orlyAll1M_relayCpuSeconds) <= 1.5 &&
            num(m.orlyKind11M_relayCpuSeconds) <= 1.5 &&
            m.orlyAll1M_rounds === m.strfryAll1M_rounds,
        ),
      };
    }
    case 'ingest-split': {
      const ratio = splitRatio(run, 'ingest', 'ingest-split', 'eventsPerSec');
      return {
        measured: `${fmt(m.eventsPerSec)} events/s (${ratioText(ratio)}; relay + orly-db CPU ${fmt(m.relayCpuSeconds, 1)} s; OK false: ${fmt(m.okFalse)})`,
        latency: `EVENT→OK ${ms(m.okP50Ms)} / ${ms(m.okP99Ms)}`,
        target: '≥ 0.7× local',
        met: ratio === undefined ? '—' : yesNo(ratio >= 0.7 && num(m.okFalse) === 0),
      };
    }
    case 'ingest-plugin':
    case 'ingest-policy': {
      const ratio = splitRatio(run, 'ingest', scenario, 'eventsPerSec');
      return {
        measured: `${fmt(m.eventsPerSec)} events/s (${ratio === undefined ? 'no plain ingest to compare' : `${ratio.toFixed(2)}× without`}; relay CPU ${fmt(m.relayCpuSeconds, 1)} s; OK false: ${fmt(m.okFalse)})`,
        latency: `EVENT→OK ${ms(m.okP50Ms)} / ${ms(m.okP99Ms)}`,
        target: scenario === 'ingest-plugin' ? 'cheaper than strfry’s pipe round trip per event' : '—',
        met: '—',
      };
    }
    case 'replication':
    case 'replication-split':
      return {
        measured: `catch-up of ${fmt(m.catchUpEvents)} events after an outage: ${fmt(m.catchUpSeconds, 2)} s (${fmt(m.catchUpEventsPerSec)} events/s, ${fmt(m.catchUpBytesPerEvent)} bytes per event on loopback; replica CPU ${fmt(m.replicaCpuSeconds, 1)} s)`,
        latency: `lag at ${fmt(m.lagRate)} events/s: p50 ${ms(m.lagP50Ms)}, p99 ${ms(m.lagP99Ms)}, max ${ms(m.lagMaxMs)}`,
        target: 'lag well under a second on loopback',
        met: yesNo(num(m.lagP99Ms) < 1000 && num(m.lagMissing) === 0),
      };
    case 'replication-strfry': {
      const ours = run.results.find((r) => r.scenario === 'replication' && r.status === 'ok')?.metrics;
      const vs =
        ours === undefined
          ? ''
          : `; ours: lag p99 ${ms(ours.lagP99Ms)}, catch-up ${fmt(ours.catchUpSeconds, 2)} s`;
      return {
        measured: `catch-up of ${fmt(m.catchUpEvents)} events by strfry sync: ${fmt(m.catchUpSeconds, 2)} s (${fmt(m.catchUpEventsPerSec)} events/s, ${fmt(m.catchUpBytesPerEvent)} bytes per event on loopback); router CPU ${fmt(m.routerCpuSeconds, 1)} s${vs}`,
        latency: `lag at ${fmt(m.lagRate)} events/s: p50 ${ms(m.lagP50Ms)}, p99 ${ms(m.lagP99Ms)}, max ${ms(m.lagMaxMs)}`,
        target: 'the strfry baseline for the replication row',
        met: '—',
      };
    }
    case 'query-split': {
      const ratio = splitRatio(run, 'query', 'query-split', 'reqsPerSec');
      return {
        measured: `${fmt(m.reqsPerSec)} REQ/s, ${fmt(m.eventsPerSec)} events/s (${ratioText(ratio)})`,
        latency: `REQ→EOSE ${ms(m.eoseP50Ms)} / ${ms(m.eoseP99Ms)}`,
        target: '≥ 0.7× local',
        met: ratio === undefined ? '—' : yesNo(ratio >= 0.7),
      };
    }
    case 'ingest':
      return {
        measured: `${fmt(m.eventsPerSec)} events/s (${fmt(m.events)} events, ${m.connections} conns × ${m.window} in flight; OK false: ${fmt(m.okFalse)}; relay CPU ${fmt(m.relayCpuSeconds, 1)} s)`,
        latency: `EVENT→OK ${ms(m.okP50Ms)} / ${ms(m.okP99Ms)}`,
        target: '≥ 15,000 events/s',
        met: yesNo(num(m.eventsPerSec) >= 15_000 && num(m.okFalse) === 0),
      };
    case 'query':
      return {
        measured: `${fmt(m.reqsPerSec)} REQ/s, ${fmt(m.eventsPerSec)} events/s (${m.connections} conns, ${fmt(m.storeEvents)} stored)`,
        latency: `REQ→EOSE ${ms(m.eoseP50Ms)} / ${ms(m.eoseP99Ms)}`,
        target: '≥ 2,500 REQ/s, p50 ≤ 2 ms',
        met: yesNo(num(m.reqsPerSec) >= 2_500 && num(m.eoseP50Ms) <= 2),
      };
    case 'fanout-latency':
      return {
        measured: `${fmt(m.subscribers)} subscribers, ${fmt(m.publishedPerSec)} events/s published, ${fmt(m.deliveriesPerSec)} deliveries/s`,
        latency: `publish→deliver ${ms(m.p50Ms)} / ${ms(m.p99Ms)}`,
        target: 'p50 ≤ 2 ms at 300 subscribers',
        met: yesNo(num(m.p50Ms) <= 2 && num(m.missing) === 0),
      };
    case 'fanout-throughput':
      return {
        measured: `${fmt(m.deliveriesPerSec)} deliveries/s (${fmt(m.subscribers)} subscribers, ${fmt(m.publishedPerSec)} events/s published)`,
        latency: `publish→deliver ${ms(m.p50Ms)} / ${ms(m.p99Ms)}`,
        target: '≥ 150,000 deliveries/s at 1,000 subscribers',
        met: yesNo(num(m.deliveriesPerSec) >= 150_000),
      };
    case 'memory':
      return {
        measured: `RSS ${fmt(m.rssEmptyMB, 1)} MB empty → ${fmt(m.rssLoadedMB, 1)} MB with ${fmt(m.connections)} connections (+${fmt(m.rssDeltaMB, 1)} MB, ${fmt(num(m.bytesPerConnection) / 1024, 1)} KB per connection; anonymous memory +${fmt(m.anonDeltaMB, 1)} MB)`,
        latency: `REQ→EOSE ${ms(m.reqEoseP50Ms)} (p50)`,
        target: '10,000 connections in ≤ 150 MB above empty',
        // Below 10,000 connections (--quick), the per-connection cost is extrapolated to 10,000.
        met: yesNo(
          num(m.failed) === 0 &&
            (num(m.connections) >= 10_000
              ? num(m.rssDeltaMB) <= 150
              : (num(m.bytesPerConnection) * 10_000) / 2 ** 20 <= 150),
        ),
      };
    case 'ingest-postgres': {
      const ratio = splitRatio(run, 'ingest', scenario, 'eventsPerSec');
      return {
        ...rowFor('ingest', m, run),
        target: `≥ 3,000 events/s (3× nostream); ${ratio === undefined ? 'no LMDB run' : `${ratio.toFixed(2)}× LMDB`}`,
        met: yesNo(num(m.eventsPerSec) >= 3000 && num(m.okFalse) === 0),
      };
    }
    case 'query-postgres': {
      const ratio = splitRatio(run, 'query', scenario, 'reqsPerSec');
      return {
        ...rowFor('query', m, run),
        target: `≥ 1,200 REQ/s (3× nostream); ${ratio === undefined ? 'no LMDB run' : `${ratio.toFixed(2)}× LMDB`}`,
        met: yesNo(num(m.reqsPerSec) >= 1200),
      };
    }
    case 'fanout-latency-postgres':
    case 'fanout-throughput-postgres': {
      const lmdb = scenario === 'fanout-latency-postgres' ? 'fanout-latency' : 'fanout-throughput';
      return { ...rowFor(lmdb, m, run), target: 'beside LMDB (same run)', met: '—' };
    }
    case 'postgres-three-relays':
      return {
        measured: `${fmt(m.eventsPerSec)} events/s accepted by ${fmt(m.relays)} relays together (OK false: ${fmt(m.okFalse)}; relays + PostgreSQL CPU ${fmt(m.ingestCpuSeconds, 1)} s)`,
        latency: `EVENT→OK ${ms(m.okP50Ms)} / ${ms(m.okP99Ms)}; publish on A → deliver on B at ${fmt(m.crossRate)} events/s: ${ms(m.crossP50Ms)} / ${ms(m.crossP99Ms)}`,
        target: '≥ 3,000 events/s; cross-relay delivery well under a second',
        met: yesNo(num(m.eventsPerSec) >= 3000 && num(m.crossP99Ms) < 1000 && num(m.crossMissing) === 0),
      };
    default:
      return { measured: JSON.stringify(m), latency: '—', target: '—', met: '—' };
  }
}

function rows(run: BenchRun): Row[] {
  return run.results.map((r) => {
    const base = { scenario: LABELS[r.scenario] };
    if (r.status === 'failed') {
      return {
        ...base,
        measured: `not measured: ${r.error?.split('\n')[0]}`,
        latency: '—',
        target: '',
        met: '—',
      };
    }
    return { ...base, ...rowFor(r.scenario, r.metrics, run) };
  });
}

/** Scenarios during which other processes took a noticeable share of the CPU. */
function contentionWarnings(run: BenchRun): string[] {
  return run.results
    .filter((r) => (r.relay?.otherCpuPercent ?? 0) > 15)
    .map(
      (r) =>
        `other processes used ~${r.relay!.otherCpuPercent}% of a core during ${r.scenario}: its numbers are pessimistic`,
    );
}

export function printReport(run: BenchRun): void {
  const { machine } = run;
  console.log('\n=== ORLY relay benchmark ===');
  console.log(`date:    ${machine.date}`);
  console.log(`machine: ${describeMachine(machine)}`);
  console.log(`command: ${machine.command}`);
  console.log(`commit:  ${machine.commit}`);
  console.log(`load:    ${machine.loadAverage.join(' ')} (load average at start)`);
  console.log(`wall:    ${run.wallSeconds.toFixed(0)} s\n`);
  for (const row of rows(run)) {
    console.log(`${row.scenario}  [target met: ${row.met}]`);
    console.log(`  ${row.measured}`);
    console.log(`  ${row.latency}   (target: ${row.target || '—'})`);
  }
  for (const w of contentionWarnings(run)) console.log(`warning: ${w}`);
  for (const r of run.results) {
    for (const note of r.notes) console.log(`note (${r.scenario}): ${note}`);
    if (r.relay && r.relay.logLines > 0) {
      console.log(`relay log (${r.scenario}): ${r.relay.logLines} line(s), first: ${r.relay.logSample[0]}`);
    }
  }
}

export function markdown(run: BenchRun): string {
  const { machine } = run;
  const lines = [
    `- Date: ${machine.date}`,
    `- Machine: ${describeMachine(machine)}`,
    `- Command: \`${machine.command}\``,
    `- Commit: ${machine.commit}`,
    '',
    '| Scenario | Measured | Latency p50 / p99 | Target | Met |',
    '| --- | --- | --- | --- | --- |',
    ...rows(run).map((r) => `| ${r.scenario} | ${r.measured} | ${r.latency} | ${r.target} | ${r.met} |`),
  ];
  lines.push(
    '',
    '| Scenario | Relay CPU (timed phase) | Relay peak RSS (anon + file) | Data dir | Load generator CPU | Other processes | Relay log lines |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...run.results
      .filter((r) => r.status === 'ok')
      .map(
        (r) =>
          `| ${LABELS[r.scenario]} | ${r.relay?.cpuSeconds === undefined ? '—' : `${fmt(r.relay.cpuSeconds, 1)} s (${fmt(r.relay.cpuPercent)}% of a core)`} | ${fmt(r.relay?.peakRssMB, 1)} MB${r.relay?.peakAnonMB === undefined ? '' : ` (${fmt(r.relay.peakAnonMB)} + ${fmt(r.relay.peakFileMB)})`} | ${r.relay?.dataDirMB === undefined ? '—' : `${fmt(r.relay.dataDirMB, 1)} MB`} | ${r.metrics.loadCpuPercent === undefined ? '—' : `${fmt(r.metrics.loadCpuPercent)}% of a core`} | ${r.relay?.otherCpuPercent === undefined ? '—' : `${fmt(r.relay.otherCpuPercent)}% of a core`} | ${r.relay?.logLines ?? 0} |`,
      ),
  );
  const shapes = run.results.find((r) => r.scenario === 'query' && r.status === 'ok')?.load?.shapes as
    | Record<string, { reqs: number; avgEvents: number; p50: number; p99: number }>
    | undefined;
  if (shapes) {
    lines.push(
      '',
      '| Query filter shape | REQs | Events per REQ | REQ→EOSE p50 | p99 |',
      '| --- | --- | --- | --- | --- |',
      ...Object.entries(shapes).map(
        ([shape, s]) =>
          `| \`${shape}\` | ${fmt(s.reqs)} | ${fmt(s.avgEvents, 1)} | ${ms(s.p50)} | ${ms(s.p99)} |`,
      ),
    );
  }
  const notes = [
    ...contentionWarnings(run).map((w) => `- ${w}`),
    ...run.results.flatMap((r) => r.notes.map((n) => `- ${LABELS[r.scenario]}: ${n}`)),
  ];
  if (notes.length > 0) lines.push('', 'Notes:', '', ...notes);
  return `${lines.join('\n')}\n`;
}

/** Writes the JSON and markdown files; returns their paths. */
export function writeReport(run: BenchRun): { json: string; md: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = run.machine.date.replace(/[:.]/g, '-');
  const json = join(RESULTS_DIR, `${stamp}.json`);
  const md = join(RESULTS_DIR, `${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(md, markdown(run));
  return { json, md };
}
