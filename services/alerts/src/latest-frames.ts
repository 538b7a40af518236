import { decodeFrameChunk } from '@vigil/contracts';
import type { InMessage } from '@vigil/bus';

/**
 * The newest picture of every camera, from the thumbnails infer publishes on `vigil.thumbs`:
 * the dashboard's camera grid refreshes from here; no alerts replica reads the video.
 */
export class LatestFrames {
  private readonly frames = new Map<string, { jpeg: Buffer; capturedAt: number }>();

  /**
   * `onRejected` counts chunks that fail the frame chunk contract. They are not dead-lettered
   * from here: infer's consumer already does that once, and every alerts replica reads every
   * chunk (a group of its own), so each would add another copy.
   */
  constructor(
    private cameras: Set<string>,
    private readonly onRejected: (reason: string) => void = () => {},
  ) {}

  /** Takes a reloaded camera list; frames of cameras no longer in it are dropped. */
  update(cameras: Set<string>): void {
    this.cameras = cameras;
    for (const id of this.frames.keys()) if (!cameras.has(id)) this.frames.delete(id);
  }

  /** Bus handler for `vigil.thumbs`; malformed or foreign chunks are not shown. */
  onChunk = async (m: InMessage): Promise<void> => {
    const decoded = decodeFrameChunk(m.value);
    if (!decoded.ok) return this.onRejected(decoded.reason);
    if (!this.cameras.has(decoded.value.cameraId)) return;
    const last = decoded.value.frames[decoded.value.frames.length - 1];
    const cur = this.frames.get(decoded.value.cameraId);
    // Copy out of the chunk so the rest of it can be freed.
    if (last && (!cur || last.capturedAt >= cur.capturedAt)) this.frames.set(decoded.value.cameraId, { jpeg: Buffer.from(last.jpeg), capturedAt: last.capturedAt });
  };

  get(cameraId: string): { jpeg: Buffer; capturedAt: number } | undefined {
    return this.frames.get(cameraId);
  }
}
