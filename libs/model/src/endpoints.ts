/** One model server endpoint as the pool tracks it. */
export interface Endpoint {
  url: string;
  maxInFlight: number;
  apiKey?: string;
  inFlight: number;
  /** Consecutive failures; the circuit opens at the pool's threshold. */
  failures: number;
  /** While in the future, the circuit is open: no request goes there. */
  openUntil: number;
  /** Cool-down of the next opening (doubles while failures go on). */
  cooldownMs: number;
}

export interface EndpointPoolOptions {
  /** Consecutive failures that open an endpoint's circuit (default 3). */
  failureThreshold?: number;
  /** First open period (default 2 s), doubling up to `maxCooldownMs` (default 30 s). */
  cooldownMs?: number;
  maxCooldownMs?: number;
  now?: () => number;
}

/**
 * The model endpoints with their in-flight limits and a circuit breaker each. The
 * dispatcher reserves a slot before it sends a window, so each endpoint's in-flight bound
 * holds, and healthy endpoints are used first; an endpoint whose circuit is open gets no
 * new work until its cool-down has passed (then one request probes it: half-open).
 */
export class EndpointPool {
  readonly endpoints: Endpoint[];
  private readonly threshold: number;
  private readonly baseCooldown: number;
  private readonly maxCooldown: number;
  private readonly now: () => number;
  private readonly listeners = new Set<() => void>();
  private timer?: NodeJS.Timeout;

  constructor(list: { url: string; maxInFlight: number; apiKey?: string }[], opts: EndpointPoolOptions = {}) {
    if (list.length === 0) throw new Error('the model needs at least one endpoint');
    this.threshold = opts.failureThreshold ?? 3;
    this.baseCooldown = opts.cooldownMs ?? 2000;
    this.maxCooldown = opts.maxCooldownMs ?? 30_000;
    this.now = opts.now ?? Date.now;
    this.endpoints = list.map((e) => ({ ...e, inFlight: 0, failures: 0, openUntil: 0, cooldownMs: this.baseCooldown }));
  }

  isOpen(e: Endpoint): boolean {
    return e.openUntil > this.now();
  }

  /** Reserves a slot on the least-loaded endpoint whose circuit is closed (or half-open). */
  acquire(): Endpoint | undefined {
    let best: Endpoint | undefined;
    for (const e of this.endpoints) {
      if (this.isOpen(e) || e.inFlight >= e.maxInFlight) continue;
      // Half-open (failures past the threshold, cool-down over): one probe at a time.
      if (e.failures >= this.threshold && e.inFlight > 0) continue;
      if (!best || e.inFlight / e.maxInFlight < best.inFlight / best.maxInFlight) best = e;
    }
    if (best) best.inFlight++;
    return best;
  }

  /**
   * Up to `n` more slots on `e`, which already holds one for this caller: a group of
   * questions about the same frames stays on one endpoint (its prefix cache). A half-open
   * endpoint gets no more than its one probe.
   */
  acquireMore(e: Endpoint, n: number): Endpoint[] {
    const out: Endpoint[] = [];
    if (e.failures >= this.threshold) return out;
    while (out.length < n && e.inFlight < e.maxInFlight) {
      e.inFlight++;
      out.push(e);
    }
    return out;
  }

  release(e: Endpoint): void {
    e.inFlight = Math.max(0, e.inFlight - 1);
    this.notify();
  }

  /** Free slots on endpoints that take work now. */
  get available(): number {
    return this.endpoints.reduce((s, e) => s + (this.isOpen(e) ? 0 : Math.max(0, e.maxInFlight - e.inFlight)), 0);
  }

  get capacity(): number {
    return this.endpoints.reduce((s, e) => s + e.maxInFlight, 0);
  }

  succeeded(url: string): void {
    const e = this.byUrl(url);
    if (!e) return;
    const wasBroken = e.failures >= this.threshold;
    e.failures = 0;
    e.openUntil = 0;
    e.cooldownMs = this.baseCooldown;
    if (wasBroken) this.notify();
  }

  failed(url: string): void {
    const e = this.byUrl(url);
    if (!e) return;
    e.failures++;
    if (e.failures >= this.threshold) {
      e.openUntil = this.now() + e.cooldownMs;
      e.cooldownMs = Math.min(this.maxCooldown, e.cooldownMs * 2);
      // Wake the dispatcher when the cool-down ends, so waiting windows probe it.
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.notify(), Math.max(0, Math.min(...this.endpoints.map((x) => x.openUntil)) - this.now()) + 5);
      this.timer.unref();
    }
  }

  /** Failover order for one request: the reserved endpoint, then closed circuits, then open ones. */
  order(first?: string): Endpoint[] {
    const rank = (e: Endpoint) => (e.url === first ? 0 : this.isOpen(e) ? 2 : 1);
    return [...this.endpoints].sort((a, b) => rank(a) - rank(b));
  }

  /** Called when capacity may have grown (a slot freed, a circuit closed or half-opened). */
  onCapacity(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    clearTimeout(this.timer);
    this.listeners.clear();
  }

  private byUrl(url: string): Endpoint | undefined {
    return this.endpoints.find((e) => e.url === url);
  }

  private notify(): void {
    for (const fn of this.listeners) fn();
  }
}
