/**
 * Command-line options of `npm run bench` (node dist/bench/run.js): which scenarios, how big,
 * how long. `--quick` shrinks everything for a smoke run; explicit flags override both.
 * Parsed by the relay's own command-line parser (src/cli/args.ts, on node:util parseArgs).
 */
import { parseCommandLine } from '../src/config/args.js';
import { UsageError } from '../src/errors.js';

export { UsageError };
export const SCENARIOS = [
  'ingest',
  'ingest-strfry',
  'ingest-postgres',
  'query',
  'query-strfry',
  'query-postgres',
  'fanout-latency',
  'fanout-latency-strfry',
  'fanout-latency-postgres',
  'fanout-throughput',
  'fanout-throughput-strfry',
  'fanout-throughput-postgres',
  'postgres-three-relays',
  'memory',
  'memory-strfry',
  'ingest-split',
  'ingest-plugin',
  'ingest-policy',
  'replication',
  'replication-split',
  'replication-strfry',
  'query-split',
  'sync',
  'sync-1m',
  'strfry',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  only: Scenario[];
  quick: boolean;
  seed: number;
  /** Timed ingest events (the dataset holds warmupEvents more). */
  events: number;
  warmupEvents: number;
  ingestConnections: number;
  ingestWindow: number;
  queryConnections: number;
  queryWarmupSec: number;
  queryDurationSec: number;
  fanoutSubscribers: number;
  fanoutRate: number;
  fanoutDurationSec: number;
  throughputSubscribers: number;
  throughputDurationSec: number;
  throughputWindow: number;
  throughputMaxEvents: number;
  idleConnections: number;
}

export const USAGE = `Usage: npm run bench -- [options]   (or: node dist/bench/run.js [options])

  --only LIST            scenarios to run, comma-separated (default: all):
                         ${SCENARIOS.join(', ')}  ("fanout" = both fan-out scenarios)
  --quick                smaller sizes and shorter runs (a smoke test, under a minute)
  --events N             timed ingest events; the query store holds N + warm-up (default 100000)
  --connections N        ingest connections (default 12)
  --window N             EVENTs in flight per ingest connection (default 256)
  --query-connections N  concurrent query connections (default 8)
  --duration S           seconds of each timed query / fan-out phase (default 10)
  --subscribers N        fan-out latency subscribers (default 300)
  --rate N               fan-out latency publish rate, events/s (default 200)
  --throughput-subscribers N   fan-out throughput subscribers (default 1000)
  --idle-connections N   connections of the memory scenario (default 10000)
  --seed N               dataset and query-mix seed (default 1)
  -h, --help
`;

function defaults(quick: boolean): BenchOptions {
  return {
    // --quick leaves out the 1,000,000-event sync (minutes on a first run); --only brings it back.
    // The strfry comparison runs only with ORLY_BENCH_STRFRY (a strfry binary built beside the project).
    only: SCENARIOS.filter(
      (s) =>
        !(quick && s === 'sync-1m') && !(s.endsWith('strfry') && (quick || !process.env.ORLY_BENCH_STRFRY)),
    ),
    quick,
    seed: 1,
    events: quick ? 20_000 : 100_000,
    warmupEvents: quick ? 1_000 : 2_000,
    ingestConnections: 12,
    ingestWindow: 256,
    queryConnections: 8,
    queryWarmupSec: quick ? 1 : 2,
    queryDurationSec: quick ? 3 : 10,
    fanoutSubscribers: quick ? 100 : 300,
    fanoutRate: 200,
    fanoutDurationSec: quick ? 3 : 10,
    throughputSubscribers: quick ? 300 : 1_000,
    throughputDurationSec: quick ? 3 : 10,
    throughputWindow: 16,
    throughputMaxEvents: quick ? 5_000 : 20_000,
    idleConnections: quick ? 2_000 : 10_000,
  };
}

type NumberField = {
  [K in keyof BenchOptions]: BenchOptions[K] extends number ? K : never;
}[keyof BenchOptions];

/** The integer options and the fields each one sets. */
const INT_OPTIONS = {
  events: ['events'],
  connections: ['ingestConnections'],
  window: ['ingestWindow'],
  'query-connections': ['queryConnections'],
  duration: ['queryDurationSec', 'fanoutDurationSec', 'throughputDurationSec'],
  subscribers: ['fanoutSubscribers'],
  rate: ['fanoutRate'],
  'throughput-subscribers': ['throughputSubscribers'],
  'idle-connections': ['idleConnections'],
  seed: ['seed'],
} as const satisfies Record<string, readonly NumberField[]>;

const OPTIONS = {
  only: { type: 'string' },
  quick: { type: 'boolean' },
  events: { type: 'string' },
  connections: { type: 'string' },
  window: { type: 'string' },
  'query-connections': { type: 'string' },
  duration: { type: 'string' },
  subscribers: { type: 'string' },
  rate: { type: 'string' },
  'throughput-subscribers': { type: 'string' },
  'idle-connections': { type: 'string' },
  seed: { type: 'string' },
} as const;

function scenarios(list: string): Scenario[] {
  const chosen = new Set<Scenario>();
  for (const name of list.split(',').map((s) => s.trim())) {
    if (name === 'fanout') {
      chosen.add('fanout-latency');
      chosen.add('fanout-throughput');
    } else if ((SCENARIOS as readonly string[]).includes(name)) chosen.add(name as Scenario);
    else throw new UsageError(`unknown scenario ${JSON.stringify(name)} (known: ${SCENARIOS.join(', ')})`);
  }
  return SCENARIOS.filter((s) => chosen.has(s));
}

/** Parses argv (without node and script); throws UsageError. Returns undefined for --help. */
export function parseOptions(argv: readonly string[]): BenchOptions | undefined {
  const line = parseCommandLine(argv, OPTIONS);
  if (line.help) return undefined;
  const { values } = line;
  const options = defaults(values.quick === true);
  if (values.only !== undefined) options.only = scenarios(values.only);
  for (const [flag, fields] of Object.entries(INT_OPTIONS)) {
    const value = values[flag as keyof typeof INT_OPTIONS];
    if (value === undefined) continue;
    if (!/^\d+$/.test(value) || Number(value) <= 0)
      throw new UsageError(`--${flag} needs a positive integer`);
    for (const field of fields) options[field] = Number(value);
  }
  return options;
}
