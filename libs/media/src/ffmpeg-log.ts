/** The input video stream as ffmpeg describes it when it opens the camera. */
export interface StreamInfo {
  codec: string;
  width?: number;
  height?: number;
  /** The stream's nominal frame rate (what the camera sends, before sampling). */
  fps?: number;
}

const LEVELED = /^(?:\[[^\]]* @ [^\]]*\] )*\[(panic|fatal|error|warning|info|verbose|debug|trace)\] (.*)$/;
const VIDEO = /^\s*Stream #0:\d+.*?: Video: (\w+)/;

/**
 * Reads ffmpeg's stderr (run with `-loglevel level+info`): remembers the last few error
 * lines, to explain an exit, and the first input's video stream. Lines may carry the
 * camera URL with credentials: callers redact before anything leaves the process.
 */
export class FfmpegLog {
  private partial = '';
  private readonly errors: string[] = [];
  private inInput = false;
  /** Whether ffmpeg got as far as describing the input (it reached the camera). */
  opened = false;
  stream?: StreamInfo;

  constructor(private readonly onStream?: (info: StreamInfo) => void) {}

  push(text: string): void {
    const lines = (this.partial + text).split(/\r\n|\n|\r/);
    this.partial = (lines.pop() ?? '').slice(-4096);
    for (const line of lines) this.line(line);
  }

  /** The last error lines, oldest first (empty when ffmpeg reported none). */
  recentErrors(): string[] {
    if (this.partial) {
      this.line(this.partial);
      this.partial = '';
    }
    return [...this.errors];
  }

  private line(line: string): void {
    const m = LEVELED.exec(line);
    if (!m) return; // continuation lines ("To ignore this, add a trailing '?'…")
    const [, level, msg = ''] = m;
    if (level === 'panic' || level === 'fatal' || level === 'error') {
      this.errors.push(msg.trim());
      if (this.errors.length > 4) this.errors.shift();
      return;
    }
    if (level !== 'info') return;
    if (msg.startsWith('Input #0')) {
      this.inInput = true;
      this.opened = true;
    } else if (msg.startsWith('Output #') || msg.startsWith('Stream mapping')) this.inInput = false;
    else if (this.inInput && !this.stream) {
      const v = VIDEO.exec(msg);
      if (v) {
        const size = /\b(\d{2,5})x(\d{2,5})\b/.exec(msg);
        const fps = /([\d.]+) fps\b/.exec(msg) ?? /([\d.]+)k? tbr\b/.exec(msg);
        this.stream = { codec: v[1]!, width: size ? Number(size[1]) : undefined, height: size ? Number(size[2]) : undefined, fps: fps ? Number(fps[1]) : undefined };
        this.onStream?.(this.stream);
      }
    }
  }
}
