/**
 * Warnings the relay logs once it listens, about configurations that work but probably not as
 * the operator meant.
 */
import type { Logger } from '../logger.js';
import type { RelayConfig } from './config.js';

/** Without a public URL, NIP-42 (and NIP-86) only work for clients on this machine. */
export function warnWithoutPublicUrl(
  logger: Logger,
  config: RelayConfig,
  publicUrls: readonly string[],
  restrictedKinds: ReadonlySet<number>,
  port: number,
): void {
  const { authRequired, authToWrite } = config.gates;
  if (publicUrls.length > 0 || (restrictedKinds.size === 0 && !authRequired && !authToWrite)) return;
  logger.warn(
    {
      restrictedKinds: [...restrictedKinds],
      authRequired,
      authToWrite,
      localUrl: `ws://localhost:${port}`,
    },
    'no public URL configured (ORLY_RELAY_URL / ORLY_RELAY_ADDRESSES): NIP-42 AUTH (and NIP-86 management) is ' +
      'accepted only from clients on this machine, so remote clients can neither read the restricted kinds, nor ' +
      'publish protected events, nor pass ORLY_AUTH_REQUIRED / ORLY_AUTH_TO_WRITE',
  );
}
