/**
 * The memory the NIP-77 item sets of open sessions may hold, counted in items (about 42 bytes
 * each: a created_at, a 32-byte id, the prefix sums), in all and per client address. A session
 * takes its items when its set is built and gives them back when it leaves the session table
 * (NEG-CLOSE, replacement, error, idle expiry, disconnect).
 */
export class ItemBudget {
  private held = 0;
  private readonly perIp = new Map<string, number>();

  constructor(
    readonly maxTotal: number,
    readonly maxPerIp: number,
  ) {}

  /** Items held by every session now. */
  get total(): number {
    return this.held;
  }

  /** Takes `count` items for `ip`; false (nothing taken) when a bound would be exceeded. */
  take(ip: string, count: number): boolean {
    const mine = this.perIp.get(ip) ?? 0;
    if (this.held + count > this.maxTotal || mine + count > this.maxPerIp) return false;
    this.held += count;
    this.perIp.set(ip, mine + count);
    return true;
  }

  give(ip: string, count: number): void {
    this.held -= count;
    const mine = (this.perIp.get(ip) ?? 0) - count;
    if (mine > 0) this.perIp.set(ip, mine);
    else this.perIp.delete(ip);
  }
}
