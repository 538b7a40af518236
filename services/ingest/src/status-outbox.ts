import { Topics, type CameraStatus } from '@vigil/contracts';
import type { Bus } from '@vigil/bus';
import type { Logger } from '@vigil/observability';

/** Status changes kept per camera while the bus is down (the newest win). */
const MAX_PENDING_PER_CAMERA = 16;

/**
 * Sends camera status changes to `vigil.camera-status`, keyed by camera, in order per
 * camera. When the bus is down they wait (a few per camera, newest kept) and go out once
 * it is back, so consumers end up with every camera's current state.
 */
export class StatusOutbox {
  private readonly pending = new Map<string, CameraStatus[]>();
  private sending?: Promise<void>;
  private failing = false;
  private closed = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly retryMs = 1000,
  ) {}

  publish(status: CameraStatus): void {
    if (this.closed) return;
    let q = this.pending.get(status.cameraId);
    if (!q) this.pending.set(status.cameraId, (q = []));
    q.push(status);
    if (q.length > MAX_PENDING_PER_CAMERA) q.shift();
    this.kick();
  }

  /** Sends what is pending (bounded by `graceMs`), then stops. */
  async close(graceMs = 3000): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.sending && this.pending.size > 0) this.kick();
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.sending ?? Promise.resolve(), new Promise<void>((r) => (t = setTimeout(r, graceMs)))]);
    clearTimeout(t);
    this.closed = true;
  }

  private kick(): void {
    if (this.sending || this.timer) return;
    this.sending = this.send().finally(() => (this.sending = undefined));
  }

  private async send(): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      const batch = [...this.pending.values()].flat();
      this.pending.clear();
      try {
        await this.bus.publish(
          Topics.cameraStatus,
          batch.map((s) => ({ key: s.cameraId, value: Buffer.from(JSON.stringify(s)), timestamp: s.at })),
        );
        if (this.failing) this.log.info('publishing camera status again');
        this.failing = false;
      } catch (e) {
        if (!this.failing) this.log.warn({ err: (e as Error).message }, 'cannot publish camera status; will retry');
        this.failing = true;
        // Put them back before anything newer, then retry after a pause.
        for (const s of batch.reverse()) {
          let q = this.pending.get(s.cameraId);
          if (!q) this.pending.set(s.cameraId, (q = []));
          q.unshift(s);
          if (q.length > MAX_PENDING_PER_CAMERA) q.shift();
        }
        if (!this.closed) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.kick();
          }, this.retryMs);
        }
        return;
      }
    }
  }
}
