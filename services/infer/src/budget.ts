const MINUTE = 60_000;

/**
 * Token use per camera and per site over the last hour (60 one-minute buckets), against
 * optional budgets. A window is skipped when its camera or site has spent its budget.
 */
export class TokenBudget {
  private readonly use = new Map<string, { minute: number; tokens: number }[]>();

  constructor(
    private readonly limits: { cameraTokensPerHour?: number; siteTokensPerHour?: number },
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.limits.cameraTokensPerHour !== undefined || this.limits.siteTokensPerHour !== undefined;
  }

  record(camera: string, site: string | undefined, tokens: number): void {
    if (!this.enabled || tokens <= 0) return;
    this.add(`c:${camera}`, tokens);
    if (site) this.add(`s:${site}`, tokens);
  }

  /** Which budget is spent, if any. */
  over(camera: string, site: string | undefined): 'camera' | 'site' | undefined {
    const { cameraTokensPerHour: cam, siteTokensPerHour: siteLimit } = this.limits;
    if (cam !== undefined && this.spent(`c:${camera}`) >= cam) return 'camera';
    if (site && siteLimit !== undefined && this.spent(`s:${site}`) >= siteLimit) return 'site';
    return undefined;
  }

  spent(key: string): number {
    const since = Math.floor(this.now() / MINUTE) - 59;
    const buckets = (this.use.get(key) ?? []).filter((b) => b.minute >= since);
    this.use.set(key, buckets);
    return buckets.reduce((s, b) => s + b.tokens, 0);
  }

  private add(key: string, tokens: number): void {
    const minute = Math.floor(this.now() / MINUTE);
    const buckets = this.use.get(key) ?? [];
    const last = buckets[buckets.length - 1];
    if (last?.minute === minute) last.tokens += tokens;
    else buckets.push({ minute, tokens });
    this.use.set(key, buckets.filter((b) => b.minute > minute - 60));
  }
}
