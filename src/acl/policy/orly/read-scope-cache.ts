/**
 * Each reader's ReadScope under one policy and one follows set, remembered per set of
 * authenticated pubkeys (the query paths ask per REQ, COUNT, NEG-OPEN and live event). A new
 * policy or follows set starts a new cache; at most MAX_CACHED_SCOPES readers are remembered
 * (then the cache starts over). Used by the policy file in process and by the relay's copy of
 * orly-acl's read policy alike.
 */
import type { ReadScope } from '../../../protocol/read-scope.js';
import { type CompiledPolicy, readScope } from './policy-rules.js';

export const MAX_CACHED_SCOPES = 10_000;

export class ReadScopeCache {
  private scopes = new Map<string, ReadScope>();
  private of: { readonly compiled: CompiledPolicy; readonly follows: ReadonlySet<string> } | undefined;

  scope(compiled: CompiledPolicy, follows: ReadonlySet<string>, authed: ReadonlySet<string>): ReadScope {
    if (this.of?.compiled !== compiled || this.of.follows !== follows) {
      this.scopes = new Map();
      this.of = { compiled, follows };
    }
    const key =
      authed.size === 0
        ? ''
        : authed.size === 1
          ? authed.values().next().value!
          : [...authed].sort().join(',');
    let scope = this.scopes.get(key);
    if (scope === undefined) {
      scope = readScope(compiled, authed, follows);
      if (this.scopes.size >= MAX_CACHED_SCOPES) this.scopes.clear();
      this.scopes.set(key, scope);
    }
    return scope;
  }
}
