/** Configuration errors in the config tests: a loader's ConfigError, and the variable each one names. */
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/env.js';

/** The ConfigError `load(env)` throws (anything else, or nothing, fails the test). */
export function configErrorOf(
  load: (env: Record<string, string>) => unknown,
  env: Record<string, string>,
): ConfigError {
  try {
    load(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`no ConfigError for ${JSON.stringify(env)}`);
}

/** Each [variable, value], set alone, makes `load` throw a ConfigError naming that variable. */
export function assertErrorsNameTheirVariable(
  load: (env: Record<string, string>) => unknown,
  cases: readonly (readonly [string, string])[],
): void {
  for (const [variable, value] of cases) {
    const err = configErrorOf(load, { [variable]: value });
    assert.equal(err.variable, variable, `${variable}=${value}: ${err.message}`);
  }
}
