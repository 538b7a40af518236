import type { Frame, FrameChunk, PacketChunk, PacketCodec, VideoPacket } from '@vigil/contracts';

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
    if (this.frames.length > 0 && (width !== this.width || height !== this.height)) out.push(this.flush()!);
    this.width = width;
    this.height = height;
    this.frames.push(frame);
    const span = frame.capturedAt - this.frames[0]!.capturedAt;
    if (this.frames.length >= this.framesPerChunk || span >= this.chunkMs) out.push(this.flush()!);
    return out;
  }

  /** Emits whatever is pending (e.g. when the stream ends). */
  flush(): FrameChunk | undefined {
    if (this.frames.length === 0) return undefined;
    const chunk: FrameChunk = { cameraId: this.cameraId, seq: this.seq++, width: this.width, height: this.height, fps: this.fps, codec: 'jpeg', frames: this.frames };
    this.frames = [];
    return chunk;
  }
}

/** Byte cap of a packet chunk: well under the topic's 8 MiB message limit. */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Packet cap of a chunk (the envelope holds at most 1200). */
const MAX_CHUNK_PACKETS = 1000;

/**
 * Groups a camera's compressed packets into chunks of about `chunkMs` of decode time, in
 * decode order — not on keyframe boundaries, so a 10 s GOP adds no latency and no chunk
 * outgrows the message limit. Infer keeps packets across chunks and starts its decoders at
 * keyframes it holds.
 */
export class PacketChunker {
  private packets: VideoPacket[] = [];
  private bytes = 0;

  constructor(
    private readonly cameraId: string,
    private readonly fps: number,
    private readonly chunkMs: number,
    private seq = 0,
  ) {}

  get nextSeq(): number {
    return this.seq;
  }

  /** Adds a packet; returns the chunk it completes, if any (a codec change flushes first). */
  add(packet: VideoPacket, codec: PacketCodec): PacketChunk[] {
    const out: PacketChunk[] = [];
    if (this.packets.length > 0 && codec !== this.codec) out.push(this.flush()!);
    this.codec = codec;
    this.packets.push(packet);
    this.bytes += packet.data.length;
    const span = packet.decodeAt - this.packets[0]!.decodeAt;
    if (span >= this.chunkMs || this.bytes >= MAX_CHUNK_BYTES || this.packets.length >= MAX_CHUNK_PACKETS) out.push(this.flush()!);
    return out;
  }

  private codec: PacketCodec = 'h264';

  flush(): PacketChunk | undefined {
    if (this.packets.length === 0) return undefined;
    const chunk: PacketChunk = { cameraId: this.cameraId, seq: this.seq++, fps: this.fps, codec: this.codec, packets: this.packets };
    this.packets = [];
    this.bytes = 0;
    return chunk;
  }
}
