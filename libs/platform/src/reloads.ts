import { ConfigError, loadConfig, parseConfig, watchConfigFile, type VigilConfig } from '@vigil/config';
import { parseReloadRequest, RELOAD_SUBJECT } from '@vigil/contracts';
import type { Control } from '@vigil/control';
import { redactText, type Logger } from '@vigil/observability';

/** A service that follows config changes (ingest, infer, alerts all do). */
export interface Reloadable {
  name: string;
  reload(next: VigilConfig): Promise<unknown>;
  /** A reload was refused: the running config stays; `error` is `vigil validate`'s text, secrets redacted. */
  reloadRefused?(error: string): void;
}

export interface ReloadSources {
  /** The file the process started from: re-read on change, on SIGHUP and on a bare reload request. */
  file: string;
  env?: Record<string, string | undefined>;
  /** `vigil.control.reload` requests (from `vigil reload`, or any publisher on the control plane). */
  control?: Control;
  /** Watch the file (default true). */
  watch?: boolean;
  /** Re-read on SIGHUP (default true; `vigil reload` signals a standalone process this way). */
  signal?: boolean;
  log: Logger;
}

/**
 * Config reloads for one process: the file changing, SIGHUP, or a reload request on the
 * control plane (with the YAML text, or none to re-read the file). Each new config is
 * validated as `vigil validate` would; a valid one goes to every target in turn (those in
 * the same process share it), an invalid one is refused — logged and told to the targets,
 * and the running config stays. Reloads run one at a time; requests that arrive meanwhile
 * collapse into one more run.
 */
export class ConfigReloads {
  private readonly stops: (() => void)[] = [];
  private running?: Promise<void>;
  private pending?: () => VigilConfig;
  /** The config last applied (the one the process started with until a reload). */
  current: VigilConfig;

  constructor(
    initial: VigilConfig,
    private readonly targets: () => Reloadable[],
    private readonly o: ReloadSources,
    private readonly onApplied?: (next: VigilConfig) => void,
  ) {
    this.current = initial;
  }

  start(): this {
    const fromFile = () => loadConfig(this.o.file, this.o.env);
    if (this.o.watch !== false) this.stops.push(watchConfigFile(this.o.file, () => void this.request(fromFile, 'file changed')));
    if (this.o.signal !== false) {
      const onHup = () => void this.request(fromFile, 'SIGHUP');
      process.on('SIGHUP', onHup);
      this.stops.push(() => process.off('SIGHUP', onHup));
    }
    if (this.o.control) {
      this.stops.push(
        this.o.control.subscribe(RELOAD_SUBJECT, (data) => {
          const req = parseReloadRequest(data);
          if (!req.ok) return this.o.log.warn({ subject: RELOAD_SUBJECT, reason: req.reason }, 'reload request refused');
          const text = req.value.config;
          // ${ENV} in a sent config is filled from this process's environment, as for the file.
          void this.request(text === undefined ? fromFile : () => parseConfig(text, `${RELOAD_SUBJECT} (from ${req.value.requestedBy ?? 'unknown'})`, this.o.env), `request from ${req.value.requestedBy ?? 'unknown'}`);
        }),
      );
    }
    return this;
  }

  /** Reads a config with `read` and applies it; resolves once this (or a later) reload is done. */
  request(read: () => VigilConfig, why: string): Promise<void> {
    this.pending = read;
    this.o.log.info({ why }, 'config reload requested');
    this.running ??= (async () => {
      while (this.pending) {
        const next = this.pending;
        this.pending = undefined;
        await this.apply(next);
      }
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async apply(read: () => VigilConfig): Promise<void> {
    let next: VigilConfig;
    try {
      next = read();
    } catch (e) {
      // ConfigError already leaves out every secret of the file; a read error may quote a path or URL.
      const error = e instanceof ConfigError ? e.message : redactText((e as Error).message);
      this.o.log.error({ err: error }, 'config reload refused; the running config stays');
      for (const t of this.targets()) t.reloadRefused?.(error);
      return;
    }
    for (const t of this.targets()) {
      try {
        await t.reload(next);
      } catch (e) {
        this.o.log.error({ service: t.name, err: redactText((e as Error).message) }, 'a service could not apply the reloaded config');
      }
    }
    this.current = next;
    this.onApplied?.(next);
  }

  async close(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await this.running;
  }
}
