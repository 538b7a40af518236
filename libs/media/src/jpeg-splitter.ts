/**
 * Cuts a concatenated MJPEG byte stream (ffmpeg's image2pipe) into whole JPEG images.
 * Entropy-coded data stuffs every 0xFF with 0x00, so FF D9 only ever ends an image;
 * the search for it uses Buffer.indexOf (memchr), not a byte loop in JavaScript.
 */
export class JpegSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Whether the previous chunk ended in 0xFF (an EOI split across chunks). */
  private lastWasFF = false;

  constructor(private readonly maxFrameBytes = 16 * 1024 * 1024) {}

  /** Feeds bytes; returns the images completed by them. Throws if a frame exceeds the cap. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    for (let i = chunk.indexOf(0xd9); i !== -1; i = chunk.indexOf(0xd9, i + 1)) {
      const isEnd = i === 0 ? this.lastWasFF : chunk[i - 1] === 0xff;
      if (!isEnd) continue;
      this.pending.push(chunk.subarray(start, i + 1));
      // A frame within one read is a view on it (no copy): each read is a fresh buffer.
      const frame = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      if (frame[0] === 0xff && frame[1] === 0xd8) out.push(frame);
      this.pending = [];
      this.pendingBytes = 0;
      start = i + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pending.push(rest);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxFrameBytes) {
        this.pending = [];
        this.pendingBytes = 0;
        throw new Error(`output is not MJPEG (no end of image within ${this.maxFrameBytes} bytes)`);
      }
    }
    this.lastWasFF = chunk.length > 0 && chunk[chunk.length - 1] === 0xff;
    return out;
  }
}
