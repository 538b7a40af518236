import type { VigilConfig } from '@vigil/config';
import type { LiveEvents } from './live.ts';

/** What the dashboard shows about the running config: when it was applied, and the last refused reload. */
export interface ConfigStatusView {
  applied_at: string;
  cameras: number;
  queries: number;
  /** The last reload that was refused (an invalid file), with `vigil validate`'s errors, secrets redacted; null once a later one applies. */
  refused: { at: string; error: string } | null;
}

/**
 * The running config's status: a refused reload leaves the running config in place, and says
 * why — in the log, at `GET /api/config`, and on every open dashboard (`config:status`).
 */
export class ConfigStatus {
  private view: ConfigStatusView;

  constructor(
    config: VigilConfig,
    private readonly live: LiveEvents,
  ) {
    this.view = { applied_at: new Date().toISOString(), cameras: config.cameras.length, queries: config.queries.length, refused: null };
  }

  get(): ConfigStatusView {
    return this.view;
  }

  applied(config: VigilConfig): void {
    this.view = { applied_at: new Date().toISOString(), cameras: config.cameras.length, queries: config.queries.length, refused: null };
    this.live.io.emit('config:status', this.view);
  }

  /** `error` must already be scrubbed of secrets. */
  refused(error: string): void {
    this.view = { ...this.view, refused: { at: new Date().toISOString(), error: error.slice(0, 20_000) } };
    this.live.io.emit('config:status', this.view);
  }
}
