import { MQTT_TARGET, type VigilConfig, type WebhookConfig } from '@vigil/config';
import type { FindingPolicy } from '@vigil/store';

const DEFAULT_COOLDOWN_MS = 60_000;

/** What the config says to do with each query's incidents and each camera's offline spells. */
export class AlertPolicy {
  private queries = new Map<string, VigilConfig['queries'][number]>();
  private cameras = new Map<string, VigilConfig['cameras'][number]>();
  private config!: VigilConfig;

  constructor(config: VigilConfig) {
    this.update(config);
  }

  /** Takes a reloaded config: findings from now on get its severities, cooldowns and webhooks. */
  update(config: VigilConfig): void {
    this.config = config;
    this.queries = new Map(config.queries.map((q) => [q.id, q]));
    this.cameras = new Map(config.cameras.map((c) => [c.id, c]));
  }

  /** Webhooks (ids) that fire for `event` of incidents of `query` (undefined: camera-offline); none for a shadow query. */
  webhooks(event: WebhookConfig['events'][number], query?: string): string[] {
    if (this.isShadow(query)) return [];
    const hooks = this.config.alerts.webhooks.filter((w) => w.events.includes(event) && (!w.queries || (query !== undefined && w.queries.includes(query)))).map((w) => w.id);
    // MQTT hears every incident event, through the same outbox (published once across replicas).
    return this.config.mqtt ? [...hooks, MQTT_TARGET] : hooks;
  }

  /** Whether `query` shadows another: its incidents are recorded, never told to anyone. */
  isShadow(query: string | undefined): boolean {
    return query !== undefined && this.queries.get(query)?.shadow !== undefined;
  }

  forFinding(camera: string, query: string): FindingPolicy {
    const q = this.queries.get(query);
    return {
      shadow: this.isShadow(query),
      severity: q?.severity ?? 'medium',
      site: this.cameras.get(camera)?.site,
      cooldownMs: q?.cooldownMs ?? DEFAULT_COOLDOWN_MS,
      windowMs: q?.windowMs ?? 0,
      everyMs: q?.everyMs,
      confirm: q?.confirm,
      clearAfter: q?.clearAfter,
      webhooks: { open: this.webhooks('open', query), update: this.webhooks('update', query), close: this.webhooks('close', query) },
      // A webhook may not name a shadow, so the ones for every query are all it can have had.
      formerClose: this.isShadow(query) ? this.webhooks('close') : undefined,
    };
  }

  forOffline(camera: string): { site?: string; webhooks: string[] } {
    return { site: this.cameras.get(camera)?.site, webhooks: this.webhooks('camera-offline') };
  }
}
