import type { Frame, FrameChunk } from '@vigil/contracts';

/**
 * Groups a camera's frames into chunks of `chunkMs`: a chunk closes when it holds a
 * chunk's worth of frames at the target fps, or when it spans `chunkMs` of capture time
 * (so a camera delivering slowly still sends on time), or when the frame size changes.
 * `seq` carries across reconnects, so consumers see gaps rather than repeats.
 */
export class Chunker {
  private frames: Frame[] = [];
  private width = 0;
  private height = 0;
  private readonly framesPerChunk: number;

  constructor(
    private readonly cameraId: string,
    private readonly fps: number,
    private readonly chunkMs: number,
    private seq = 0,
  ) {
    this.framesPerChunk = Math.max(1, Math.round((chunkMs / 1000) * fps));
  }

  /** The seq the next chunk will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  /** Adds a frame; returns the chunks it completes (the pending one on a size change, then maybe its own). */
  add(frame: Frame, width: number, height: number): FrameChunk[] {
    const out: FrameChunk[] = [];
    // A new size, or an earlier picture (an on_demand decode restarted further back), starts a new chunk.
    const last = this.frames[this.frames.length - 1];
    if (last && (width !== this.width || height !== this.height || frame.capturedAt <= last.capturedAt)) out.push(this.flush()!);
    this.width = width;
    this.height = height;
    this.frames.push(frame);
    const span = frame.capturedAt - this.frames[0]!.capturedAt;
    if (this.frames.length >= this.framesPerChunk || span >= this.chunkMs) out.push(this.flush()!);
    return out;
  }

  /**
   * A chunk of one keyframe picture (decode: on_demand), sent at once: the trigger stage
   * waits for it. It takes the next seq, so seq stays one sequence per camera.
   */
  keyframe(frame: Frame, width: number, height: number): FrameChunk {
    return { cameraId: this.cameraId, seq: this.seq++, width, height, fps: this.fps, codec: 'jpeg', keyframes: true, frames: [frame] };
  }

  /** Emits whatever is pending (e.g. when the stream ends). */
  flush(): FrameChunk | undefined {
    if (this.frames.length === 0) return undefined;
    const chunk: FrameChunk = { cameraId: this.cameraId, seq: this.seq++, width: this.width, height: this.height, fps: this.fps, codec: 'jpeg', frames: this.frames };
    this.frames = [];
    return chunk;
  }
}

