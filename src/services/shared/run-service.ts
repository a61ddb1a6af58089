/**
 * The shared skeleton of the service commands (orly-db, orly-acl, orly-sync-*):
 * -h / --help and --version (parsed by src/cli/args.ts; any other argument is a usage error),
 * then `start` (which installs its own signal handling and keeps running). Configuration errors
 * name the variable and exit 2; usage errors exit 2 with the usage text; anything else exits 1
 * with the error.
 */
import { parseCommandLine } from '../../config/args.js';
import { ConfigError } from '../../config/env.js';
import { UsageError } from '../../errors.js';
import { VERSION } from '../../version.js';

export function runServiceMain(name: string, usage: string, start: () => Promise<void>): void {
  const argv = process.argv.slice(2);
  const main = async (): Promise<number> => {
    const line = parseCommandLine(argv, { version: { type: 'boolean' } });
    if (line.help) {
      process.stdout.write(usage);
      return 0;
    }
    if (line.values.version) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    await start();
    return -1; // keeps running until a signal
  };
  main().then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${name}: invalid configuration: ${err.message}\n`);
        process.exitCode = 2;
      } else if (err instanceof UsageError) {
        process.stderr.write(`${name}: ${err.message}\n\n${usage}`);
        process.exitCode = 2;
      } else {
        process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
