#!/usr/bin/env node
import { parseCommandLine } from '../config/args.js';
/**
 * `orly`: runs the relay (no subcommand), or `orly import` / `orly export` / `orly sync` against
 * the store in ORLY_DATA_DIR (or --data-dir). Every command answers -h / --help with its usage
 * on stdout (exit 0). Usage errors print the message and the usage on stderr and exit 2;
 * configuration errors name the variable and exit 2; runtime failures exit 1.
 */
import { ConfigError } from '../config/env.js';
import { UsageError } from '../errors.js';
import { loadRelayConfig } from '../relay/config.js';
import { runExport } from '../store/export-events.js';
import { runImport } from '../store/import-events.js';
import { loadPostgresConfig } from '../store/postgres/config.js';
import { PostgresEventStore } from '../store/postgres/postgres-store.js';
import { VERSION } from '../version.js';
import { filterOption } from './filter-option.js';
import { runRelay } from './run-relay.js';
import { openCommandStore } from './store-option.js';
import { runSyncCli, SYNC_USAGE } from './sync/sync-command.js';
import { cliWritePolicy } from './write-policy.js';

const USAGE = `orly ${VERSION} — Nostr relay

Usage:
  orly                          run the relay (configured by ORLY_* variables; see README)
  orly export [--filter JSON]   write stored events as JSONL to stdout, oldest first
  orly import [--no-verify]     read JSONL events from stdin into the store
  orly sync <ws-url> [--filter JSON] [--dir down|up|both|none] [--print-missing]
            [--frame-size-limit N] [--timeout S] [--server ADDR]
                                reconcile with a NIP-77 relay (negentropy) and transfer the difference
                                (--server: through a running orly-sync-negentropy, client mode)
  orly migrate                  apply the PostgreSQL schema's migrations (ORLY_POSTGRES_URL) and exit
  orly --version | --help
  orly <command> --help         the options of one command

Options for import/export/sync:
  --data-dir DIR                LMDB store directory (default: ORLY_DATA_DIR or ~/.local/share/ORLY;
                                import/export without it use PostgreSQL when ORLY_DB_TYPE=postgres)
`;

const DATA_DIR_HELP = `  --data-dir DIR   LMDB store directory (default: ORLY_DATA_DIR or ~/.local/share/ORLY; without
                   it, PostgreSQL at ORLY_POSTGRES_URL when ORLY_DB_TYPE=postgres)
  -h, --help       print this help
`;

const MIGRATE_USAGE = `Usage: orly migrate

Applies the migrations the PostgreSQL database at ORLY_POSTGRES_URL lacks (what a relay with
ORLY_DB_TYPE=postgres does at start-up), prints the schema version, and exits.
  -h, --help       print this help
`;

const EXPORT_USAGE = `Usage: orly export [options]

Writes the stored events as JSONL to stdout, oldest first; the count goes to stderr.
  --filter JSON    only the events matching this NIP-01 filter
${DATA_DIR_HELP}`;

const IMPORT_USAGE = `Usage: orly import [options] < events.jsonl

Reads JSONL events from stdin into the store (checked as the relay checks them).
  --no-verify      store events whose signature does not verify (ids are still checked)
${DATA_DIR_HELP}`;

/** A subcommand: its usage (for --help and usage errors) and its run (the exit code, or -1 to keep running). */
interface Command {
  readonly name: string;
  readonly usage: string;
  run(args: readonly string[]): Promise<number>;
}

const VERSION_OPTION = { version: { type: 'boolean' } } as const;

const relayCommand: Command = {
  name: 'orly',
  usage: USAGE,
  async run(args) {
    const line = parseCommandLine(args, VERSION_OPTION);
    if (line.help) return help(USAGE);
    if (line.values.version) return version();
    await runRelay(loadRelayConfig());
    return -1; // keeps running until a signal
  },
};

const exportCommand: Command = {
  name: 'orly export',
  usage: EXPORT_USAGE,
  async run(args) {
    const line = parseCommandLine(args, {
      ...VERSION_OPTION,
      'data-dir': { type: 'string' },
      filter: { type: 'string' },
    } as const);
    if (line.help) return help(EXPORT_USAGE);
    if (line.values.version) return version();
    const filterText = line.values.filter;
    const filter = filterText === undefined ? undefined : filterOption(filterText);
    const store = await openCommandStore(line.values['data-dir'], process.env);
    try {
      const count = await runExport(store, filter, process.stdout);
      process.stderr.write(`exported ${count} events\n`);
    } finally {
      await store.close();
    }
    return 0;
  },
};

const importCommand: Command = {
  name: 'orly import',
  usage: IMPORT_USAGE,
  async run(args) {
    const line = parseCommandLine(args, {
      ...VERSION_OPTION,
      'data-dir': { type: 'string' },
      'no-verify': { type: 'boolean' },
    } as const);
    if (line.help) return help(IMPORT_USAGE);
    if (line.values.version) return version();
    const verify = line.values['no-verify'] !== true;
    const log = (text: string) => process.stderr.write(`${text}\n`);
    const policy = await cliWritePolicy(process.env, log, 'Import');
    let store: Awaited<ReturnType<typeof openCommandStore>>;
    try {
      store = await openCommandStore(line.values['data-dir'], process.env);
    } catch (err) {
      await policy?.stop();
      throw err;
    }
    try {
      await runImport(store, process.stdin, { verify, log, ...(policy ? { admit: policy.admit } : {}) });
    } finally {
      await store.close();
      await policy?.stop();
    }
    return 0;
  },
};

const migrateCommand: Command = {
  name: 'orly migrate',
  usage: MIGRATE_USAGE,
  async run(args) {
    const line = parseCommandLine(args, VERSION_OPTION);
    if (line.help) return help(MIGRATE_USAGE);
    if (line.values.version) return version();
    const result = await PostgresEventStore.migrate(loadPostgresConfig(process.env));
    const applied = result.applied.length === 0 ? 'none' : result.applied.join(', ');
    process.stdout.write(`schema version ${result.version} (migrations applied now: ${applied})\n`);
    return 0;
  },
};

/** `orly sync` parses its own options and prints its own usage and errors (sync-command.ts). */
const syncCommand: Command = { name: 'orly sync', usage: SYNC_USAGE, run: (args) => runSyncCli(args) };

const COMMANDS: Readonly<Record<string, Command>> = {
  export: exportCommand,
  import: importCommand,
  migrate: migrateCommand,
  sync: syncCommand,
};

function help(usage: string): number {
  process.stdout.write(usage);
  return 0;
}

function version(): number {
  process.stdout.write(`${VERSION}\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const first = argv[0];
  const isCommand = first !== undefined && !first.startsWith('-');
  const command = !isCommand ? relayCommand : Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (command === undefined) return usageError(relayCommand, `unknown command ${JSON.stringify(first)}`);
  try {
    return await command.run(isCommand ? argv.slice(1) : argv);
  } catch (err) {
    if (err instanceof UsageError) return usageError(command, err.message);
    throw err;
  }
}

function usageError(command: Command, message: string): number {
  process.stderr.write(`${command.name}: ${message}\n\n${command.usage}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`orly: invalid configuration: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`orly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
