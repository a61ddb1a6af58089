/**
 * Runs the relay with the capabilities its configuration names (local by default) and
 * installs SIGTERM/SIGINT handlers for a graceful stop.
 */

import { createLogger } from '../logger.js';
import type { RelayConfig } from '../relay/config.js';
import { createRelay } from '../relay/create-relay.js';
import type { Relay } from '../relay/relay.js';
import { stopOnSignal } from '../services/shared/stop-on-signal.js';

export async function runRelay(config: RelayConfig): Promise<Relay> {
  const logger = createLogger(config.logLevel);
  const relay = await createRelay(config, logger);
  stopOnSignal(logger, () => relay.stop());
  await relay.start();
  return relay;
}
