/**
 * uWebSockets.js, as the npm package @trufflesuite/uws-js-unofficial ships it: one prebuilt
 * native binary per platform, architecture and Node ABI in its binaries/ folder. The package's
 * own entry point falls back, with a console warning, to a TypeScript re-implementation over ws
 * when the binary does not load; that fallback is of no use here (it is slower than ws itself),
 * so the binary is loaded directly and a failure is reported instead. Swapping the package for
 * another build of uWebSockets.js (the official one from its GitHub releases, or another
 * republish) changes only this file: UWS_PACKAGE and binaryPath().
 */
import { createRequire } from 'node:module';
import type * as UwsModule from '@trufflesuite/uws-js-unofficial';

export type Uws = typeof UwsModule;

const UWS_PACKAGE = '@trufflesuite/uws-js-unofficial';

/** The binary for this process: binaries/uws_<platform>_<arch>_<ABI>.node (ABI 115 is Node 20). */
function binaryPath(): string {
  return `${UWS_PACKAGE}/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
}

export type UwsLoad =
  | { readonly ok: true; readonly uws: Uws; readonly binary: string }
  | { readonly ok: false; readonly error: string; readonly binary: string };

let loaded: UwsLoad | undefined;

/** Loads the native binary once; says which file, or why it did not load. */
export function loadUws(): UwsLoad {
  if (loaded !== undefined) return loaded;
  const binary = binaryPath();
  try {
    const uws = createRequire(import.meta.url)(binary) as Uws;
    loaded = { ok: true, uws, binary };
  } catch (err) {
    loaded = { ok: false, error: (err as Error).message.split('\n')[0]!, binary };
  }
  return loaded;
}
