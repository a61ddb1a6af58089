#!/usr/bin/env node
/**
 * `orly`: runs the relay (no subcommand), or `orly import` / `orly export` / `orly sync` against
 * the store in ORLY_DATA_DIR (or --data-dir). Configuration errors name the variable and exit 2.
 */
import { ConfigError, dataDirVar } from '../config/env.js';
import { parseFilter } from '../protocol/filter.js';
import { loadRelayConfig } from '../relay/config.js';
import { runExport } from '../store/export-events.js';
import { runImport } from '../store/import-events.js';
import { LmdbEventStore } from '../store/lmdb/lmdb-store.js';
import { VERSION } from '../version.js';
import { runRelay } from './run-relay.js';
import { runSyncCli } from './sync/sync-command.js';

const USAGE = `orly ${VERSION} — Nostr relay

Usage:
  orly                          run the relay (configured by ORLY_* variables; see README)
  orly export [--filter JSON]   write stored events as JSONL to stdout, oldest first
  orly import [--no-verify]     read JSONL events from stdin into the store
  orly sync <ws-url> [--filter JSON] [--dir down|up|both|none] [--print-missing]
            [--frame-size-limit N] [--timeout S] [--server ADDR]
                                reconcile with a NIP-77 relay (negentropy) and transfer the difference
                                (--server: through a running orly-sync-negentropy, client mode)
  orly --version | --help

Options for import/export/sync:
  --data-dir DIR                store directory (default: ORLY_DATA_DIR or ~/.local/share/ORLY)
`;

function takeOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function takeFlag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const command = args[0]?.startsWith('-') ? undefined : args.shift();
  if (takeFlag(args, '--help') || takeFlag(args, '-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (takeFlag(args, '--version')) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  switch (command) {
    case undefined: {
      if (args.length > 0) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
      await runRelay(loadRelayConfig());
      return -1; // keeps running until a signal
    }
    case 'export': {
      const dataDir = takeOption(args, '--data-dir') ?? dataDirVar(process.env);
      const filterText = takeOption(args, '--filter');
      if (args.length > 0) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
      let filter: ReturnType<typeof parseFilter> | undefined;
      if (filterText !== undefined) {
        let json: unknown;
        try {
          json = JSON.parse(filterText);
        } catch {
          throw new UsageError('--filter must be a JSON object');
        }
        filter = parseFilter(json);
        if (!filter.ok) throw new UsageError(`--filter: ${filter.reason}`);
      }
      const store = await LmdbEventStore.open(dataDir);
      try {
        const count = await runExport(store, filter?.ok ? filter.filter : undefined, process.stdout);
        process.stderr.write(`exported ${count} events\n`);
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'import': {
      const dataDir = takeOption(args, '--data-dir') ?? dataDirVar(process.env);
      const verify = !takeFlag(args, '--no-verify');
      if (args.length > 0) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
      const store = await LmdbEventStore.open(dataDir);
      try {
        await runImport(store, process.stdin, { verify, log: (line) => process.stderr.write(`${line}\n`) });
      } finally {
        await store.close();
      }
      return 0;
    }
    case 'sync':
      return runSyncCli(args);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`orly: invalid configuration: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof UsageError) {
      process.stderr.write(`orly: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`orly: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
