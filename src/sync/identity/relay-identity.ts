/**
 * The relay's identity key: what it signs with when it talks to peers (NIP-42 AUTH on their
 * WebSockets, NIP-98 tokens on their sync endpoints), published as NIP-11 `self` so peers can
 * tell who it is. Given as ORLY_RELAY_SECRET_KEY (64 hex or nsec), or created on first start and
 * kept in the store's state (`relay.identity`), so every process of one relay (the relay, its
 * sync services, all on one orly-db in split mode) signs as the same key and a restart keeps it.
 *
 * The stored secret is as sensitive as the database itself; operators who keep backups of the
 * database elsewhere, or who want the key in a secret manager, set ORLY_RELAY_SECRET_KEY.
 */
import { bech32Decode } from '../../acl/pubkeys.js';
import { ConfigError, type Env, readVar } from '../../config/env.js';
import { generateSecretKey, isSecretKey, publicKeyOf } from '../../crypto/signer.js';
import type { StateStore } from '../../store/event-store.js';

export const IDENTITY_STATE_KEY = 'relay.identity';

export interface RelayIdentity {
  /** The 32-byte secret key. */
  readonly secret: Buffer;
  /** Its x-only public key, 64 lowercase hex (NIP-11 `self`, the node id of the sync protocols). */
  readonly pubkey: string;
}

/** ORLY_RELAY_SECRET_KEY, parsed; undefined when unset. */
export function configuredSecret(env: Env): Buffer | undefined {
  const raw = readVar(env, 'ORLY_RELAY_SECRET_KEY')?.trim();
  if (raw === undefined || raw === '') return undefined;
  let key: Buffer;
  if (/^[0-9a-fA-F]{64}$/.test(raw)) key = Buffer.from(raw, 'hex');
  else if (raw.toLowerCase().startsWith('nsec1')) {
    try {
      const { hrp, bytes } = bech32Decode(raw);
      if (hrp !== 'nsec' || bytes.length !== 32) throw new Error('not a 32-byte nsec');
      key = Buffer.from(bytes);
    } catch (err) {
      throw new ConfigError('ORLY_RELAY_SECRET_KEY', `invalid nsec: ${(err as Error).message}`);
    }
  } else throw new ConfigError('ORLY_RELAY_SECRET_KEY', 'must be 64 hex characters or an nsec');
  if (!isSecretKey(key)) throw new ConfigError('ORLY_RELAY_SECRET_KEY', 'not a valid secp256k1 secret key');
  return key;
}

function identityOf(secret: Buffer): RelayIdentity {
  return { secret, pubkey: publicKeyOf(secret) };
}

/** A fresh identity that is kept nowhere (for a relay that cannot store one and does not replicate). */
export function temporaryIdentity(): RelayIdentity {
  return identityOf(generateSecretKey());
}

/**
 * The identity: ORLY_RELAY_SECRET_KEY when set, else the one in the store, else a new one
 * saved there (read back after the write, so two processes starting at once on one store end
 * with the key that was stored last: both use what the store holds).
 */
export async function loadRelayIdentity(
  store: Pick<StateStore, 'getState' | 'putState'>,
  env: Env,
): Promise<RelayIdentity> {
  const configured = configuredSecret(env);
  if (configured !== undefined) return identityOf(configured);
  const stored = await store.getState(IDENTITY_STATE_KEY);
  if (stored !== undefined) {
    const key = Buffer.from(stored, 'hex');
    if (stored.length === 64 && isSecretKey(key)) return identityOf(key);
    throw new Error(`the stored relay identity (state key ${IDENTITY_STATE_KEY}) is not a valid secret key`);
  }
  await store.putState([[IDENTITY_STATE_KEY, generateSecretKey().toString('hex')]]);
  const written = await store.getState(IDENTITY_STATE_KEY);
  return identityOf(Buffer.from(written!, 'hex'));
}
