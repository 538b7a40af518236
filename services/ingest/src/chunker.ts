import type { Frame, FrameChunk } from '@vigil/contracts';

/** Groups a camera's frames into fixed-length chunks (by frame count at the target fps). */
export class Chunker {
  private frames: Frame[] = [];
  private seq: number;
  private readonly framesPerChunk: number;

  constructor(
    private readonly cameraId: string,
    private readonly fps: number,
    chunkMs: number,
    firstSeq = 0,
  ) {
    this.framesPerChunk = Math.max(1, Math.round((chunkMs / 1000) * fps));
    this.seq = firstSeq;
  }

  /** Adds a frame; returns a full chunk when one completes. */
  add(frame: Frame, width: number, height: number): FrameChunk | undefined {
    this.frames.push(frame);
    if (this.frames.length < this.framesPerChunk) return undefined;
    return this.flush(width, height);
  }

  /** Emits whatever is pending (e.g. when the stream ends). */
  flush(width: number, height: number): FrameChunk | undefined {
    if (this.frames.length === 0) return undefined;
    const chunk: FrameChunk = { cameraId: this.cameraId, seq: this.seq++, width, height, fps: this.fps, codec: 'jpeg', frames: this.frames };
    this.frames = [];
    return chunk;
  }
}
