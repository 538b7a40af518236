import { MQTT_TARGET, type VigilConfig, type WebhookConfig } from '@vigil/config';
import type { Incident } from '@vigil/contracts';
import type { ClaimedDelivery, IncidentStore } from '@vigil/store';
import { redactText, type Logger } from '@vigil/observability';
import type { AlertsMetrics } from './metrics.ts';

const MAX_BACKOFF_MS = 5 * 60_000;
const LEASE_MS = 30_000;
const TIMEOUT_MS = 10_000;

/**
 * The values a template may name, as strings. `state` is the incident's state when the event
 * happened (a retried `ack` sent after a resolve still says `acknowledged`), where known.
 */
export function templateValues(i: Incident, event: string, cameraName?: string, state: string = i.state): Record<string, string> {
  return {
    id: i.id,
    event,
    kind: i.kind,
    camera: i.camera,
    camera_name: cameraName ?? i.camera,
    site: i.site ?? '',
    query: i.query,
    question: i.question,
    answer: i.answer,
    reasoning: i.reasoning,
    severity: i.severity,
    state,
    started_at: i.started_at,
    ended_at: i.ended_at,
    url: `/api/incidents/${i.id}`,
    // Who acted and their note, for `ack` and `resolve` events (empty otherwise).
    by: (event === 'ack' ? i.acknowledged?.by : event === 'resolve' ? i.resolved?.by : undefined) ?? '',
    note: (event === 'ack' ? i.acknowledged?.note : event === 'resolve' ? i.resolved?.note : undefined) ?? '',
  };
}

/** Fills {{name}} in every string of a JSON template; values are inserted as text, never as JSON. */
export function renderTemplate(t: unknown, values: Record<string, string>): unknown {
  if (typeof t === 'string') return t.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_m, k: string) => values[k] ?? '');
  if (Array.isArray(t)) return t.map((x) => renderTemplate(x, values));
  if (t && typeof t === 'object') return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, renderTemplate(v, values)]));
  return t;
}

/** Delay before attempt `attempts + 1`: backoff × 2^(attempts-1), capped, with ±10 % jitter. */
export function retryDelay(backoffMs: number, attempts: number): number {
  const base = Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.9 + Math.random() * 0.2));
}

/** Whatever sends from the incident outbox (webhooks, MQTT): told when there may be something new. */
export interface Outbox {
  kick(): void;
}

/**
 * Sends the webhook outbox: claims due deliveries (leased, so a replica that dies mid-send
 * leaves them to another), POSTs them, records the outcome on the incident. At least once:
 * receivers dedupe on the `X-Vigil-Delivery` header.
 */
export class WebhookSender implements Outbox {
  private hooks = new Map<string, WebhookConfig>();
  private cameraNames = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private started = false;

  constructor(
    config: VigilConfig,
    private readonly store: IncidentStore,
    private readonly log: Logger,
    private readonly metrics: AlertsMetrics,
    private readonly pollMs = 500,
  ) {
    this.update(config);
  }

  /** Takes a reloaded config: deliveries already queued for a webhook it dropped fail with that reason. */
  update(config: VigilConfig): void {
    this.hooks = new Map(config.alerts.webhooks.map((w) => [w.id, w]));
    this.cameraNames = new Map(config.cameras.map((c) => [c.id, c.name]));
    if (this.started && this.hooks.size > 0 && !this.timer) this.arm();
  }

  start(): void {
    this.started = true;
    if (this.hooks.size > 0) this.arm();
  }

  private arm(): void {
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
  }

  /** Sends what is due now (called after an incident change, and on a timer). */
  kick(): void {
    if (this.stopped || this.hooks.size === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'webhook outbox not drained'))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async drain(): Promise<void> {
    for (;;) {
      const batch = await this.store.claimDeliveries(20, LEASE_MS, { except: MQTT_TARGET });
      if (batch.length === 0 || this.stopped) return;
      await Promise.all(batch.map((d) => this.deliver(d)));
    }
  }

  private async deliver(d: ClaimedDelivery): Promise<void> {
    const hook = this.hooks.get(d.webhook);
    if (!hook) {
      await this.store.finishDelivery(d.id, { ok: false, error: `webhook "${d.webhook}" is no longer configured`, retryAt: null });
      return;
    }
    const incident = await this.store.get(d.incidentId);
    if (!incident) return;
    const state = d.state ?? incident.state;
    const values = templateValues(incident, d.event, this.cameraNames.get(incident.camera), state);
    // The default body: the event, the state it left, and the incident as it is now.
    const body = hook.template === undefined ? { event: d.event, state, incident } : renderTemplate(hook.template, values);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-vigil-delivery': d.id, 'x-vigil-event': d.event };
    if (hook.token) headers.authorization = `Bearer ${hook.token}`;
    let error: string | undefined;
    try {
      const res = await fetch(hook.url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      if (!res.ok) error = `HTTP ${res.status}`;
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      error = redactText(cause?.code ?? cause?.message ?? (e as Error).message);
    }
    if (!error) {
      await this.store.finishDelivery(d.id, { ok: true });
      this.metrics.webhooks.inc({ webhook: d.webhook, result: 'delivered' });
      return;
    }
    const retryAt = d.attempts >= hook.maxAttempts ? null : new Date(Date.now() + retryDelay(hook.backoffMs, d.attempts));
    await this.store.finishDelivery(d.id, { ok: false, error, retryAt });
    this.metrics.webhooks.inc({ webhook: d.webhook, result: retryAt ? 'retry' : 'failed' });
    // Logged once per attempt with the webhook id only: the URL may hold credentials, the token is secret.
    this.log.warn({ webhook: d.webhook, incident: d.incidentId, attempt: d.attempts, error, retry: retryAt?.toISOString() ?? 'given up' }, 'webhook delivery failed');
  }
}
