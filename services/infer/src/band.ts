import type { Frame } from '@vigil/contracts';
import { BandSplicer, windowLabel, windowSide } from '@vigil/media';
import type { Logger } from '@vigil/observability';

/**
 * Puts Cosmos-Reason1's timestamp band under each frame of a window: `0.00s`, `0.25s`, …
 * counted from the window's first frame (as the model was trained to read), alternating
 * left and right. Ingest sends frames without a band; the band is spliced into each JPEG's
 * entropy-coded data (no decode, no re-encode: microseconds a frame), so every window gets
 * its own 0-based clock. Returned frames carry that clock as `streamTime`, which is how
 * times in the answer map back to capture times.
 */
export class WindowBander {
  private warned = new Set<string>();

  private constructor(
    private readonly splicer: BandSplicer,
    private readonly log: Logger,
    private readonly onFailure: () => void,
  ) {}

  /** Renders the labels once (one run of `ffmpegPath`); undefined, with a warning, when it cannot. */
  static async open(log: Logger, onFailure: () => void, ffmpegPath: string): Promise<WindowBander | undefined> {
    try {
      return new WindowBander(await BandSplicer.open({ ffmpegPath }), log, onFailure);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'cannot render timestamp band labels; windows are sent without a band');
      return undefined;
    }
  }

  /**
   * The window's frames for the model: with the band, as base64 pieces that go straight into
   * the request body (no spliced JPEG is built for frames the model only reads).
   */
  async forModel(cameraId: string, frames: Frame[], fps: number): Promise<ModelFrame[]> {
    const labels = frames.map((_, i) => windowLabel(i, fps));
    if (!labels.every((l) => this.splicer.has(l))) await this.splicer.prepare(labels);
    return frames.map((f, i) => {
      const out: ModelFrame = { capturedAt: f.capturedAt, streamTime: i / fps, jpeg: f.jpeg };
      try {
        out.base64 = this.splicer.spliceBase64(f.jpeg, labels[i]!, windowSide(i));
      } catch (e) {
        this.failed(cameraId, e);
      }
      return out;
    });
  }

  private failed(cameraId: string, e: unknown): void {
    this.onFailure();
    if (this.warned.has(cameraId)) return;
    this.warned.add(cameraId);
    this.log.warn({ camera: cameraId, err: (e as Error).message }, 'frame sent without a timestamp band');
  }

  /** The window's frames with the band (evidence); a frame that cannot take one goes without (counted, warned once per camera). */
  async band(cameraId: string, frames: Frame[], fps: number): Promise<Frame[]> {
    const labels = frames.map((_, i) => windowLabel(i, fps));
    if (!labels.every((l) => this.splicer.has(l))) await this.splicer.prepare(labels);
    return frames.map((f, i) => {
      const streamTime = i / fps;
      try {
        return { capturedAt: f.capturedAt, streamTime, jpeg: this.splicer.splice(f.jpeg, labels[i]!, windowSide(i)) };
      } catch (e) {
        this.failed(cameraId, e);
        return { capturedAt: f.capturedAt, streamTime, jpeg: f.jpeg };
      }
    });
  }
}

/** A frame as sent to the model: `base64` holds it with its band, `jpeg` the frame without; `outlined`: the query's zone is drawn on it. */
export type ModelFrame = Frame & { base64?: Buffer[]; outlined?: boolean };

/** Frames on the window's own clock (seconds from its first frame), for profiles without a band. */
export function windowClock(frames: Frame[]): Frame[] {
  const t0 = frames[0]?.capturedAt ?? 0;
  return frames.map((f) => ({ capturedAt: f.capturedAt, streamTime: (f.capturedAt - t0) / 1000, jpeg: f.jpeg }));
}
