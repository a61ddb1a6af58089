/**
 * Which stored results of a FrameQuery the requester may be sent, decided from the stored JSON
 * bytes and the kind (parsing the JSON only when a rule needs the event): the requester's
 * hidden kinds, the restricted kinds (src/protocol/visibility.ts: only their author or a
 * p-tagged pubkey reads them), and the authors hidden from it. The same rule as the in-loop path
 * of the relay's query executor; used wherever frames are built (LMDB's query workers, orly-db).
 */
import type { NostrEvent } from '../protocol/event.js';
import { isVisibleTo } from '../protocol/visibility.js';
import { idOfStoredJson, pubkeyOfStoredJson } from './lmdb/stored-event.js';
import type { FrameQuery } from './query-frames.js';

export class FrameVisibility {
  private readonly restricted: ReadonlySet<number>;
  private readonly authed: ReadonlySet<string>;
  private readonly hiddenAuthors: ReadonlySet<string> | undefined;
  private readonly hiddenKinds: ReadonlySet<number> | undefined;

  constructor(private readonly request: FrameQuery) {
    this.restricted = new Set(request.restrictedKinds);
    this.authed = new Set(request.authed);
    this.hiddenAuthors =
      request.hiddenAuthors === undefined || request.hiddenAuthors.length === 0
        ? undefined
        : new Set(request.hiddenAuthors);
    this.hiddenKinds =
      request.hiddenKinds === undefined || request.hiddenKinds.length === 0
        ? undefined
        : new Set(request.hiddenKinds);
  }

  /** The event's id when the requester may be sent it; undefined when it must be skipped. */
  admit(json: Buffer, kind: number, parsed?: NostrEvent): string | undefined {
    let event = parsed;
    const parse = (): NostrEvent => {
      event ??= JSON.parse(json.toString('utf8')) as NostrEvent;
      return event;
    };
    if (this.hiddenKinds?.has(kind)) return undefined;
    if (
      this.request.checkRestricted &&
      (this.request.allInvolved === true || this.restricted.has(kind)) &&
      !isVisibleTo(parse(), this.authed)
    )
      return undefined;
    if (this.hiddenAuthors?.has(pubkeyOfStoredJson(json) ?? parse().pubkey)) return undefined;
    return idOfStoredJson(json) ?? parse().id;
  }
}
