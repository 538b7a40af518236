/** Hardware decoders ffmpeg may use; `none` decodes on the CPU. */
export type Hwaccel = 'none' | 'auto' | 'cuda' | 'vaapi';

/** Where and how ffmpeg reads a camera. */
export interface FfmpegInput {
  /** The URL ffmpeg opens, credentials included: never log it. `file://` paths are looped in real time. */
  url: string;
  transport: 'tcp' | 'udp';
  hwaccel: Hwaccel;
  /** Extra input options from the config, placed last before `-i` so they can override ours. */
  inputArgs: readonly string[];
  /** Socket I/O timeout for network sources. */
  timeoutMs: number;
}

/** What ingest wants out: frames sampled at `fps`, `width` wide, as JPEG. */
export interface FfmpegOutput {
  fps: number;
  width: number;
  /** mjpeg quality scale (2 best … 31 worst). */
  quality?: number;
  /**
   * `zone_view: crop`: boxes (relative coordinates) also cut from each full-resolution
   * picture, each a stream of its own in the same output: a picture's crops follow it in
   * this order (see FrameGroups).
   */
  crops?: readonly CropBox[];
  /** At most `width` wide: a smaller picture (a detect substream) is not enlarged. */
  noUpscale?: boolean;
}

/** A box in relative coordinates (0..1 of the picture's width and height). */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * ffmpeg filters that resample to `fps` and scale to `width`, the height rounded to a
 * multiple of 16 so that infer can splice a timestamp band under the frame (BandSplicer).
 */
export function frameFilters(fps: number, width: number, noUpscale = false): string {
  const w = noUpscale ? `'min(iw,${width})'` : String(width);
  return [`setpts=PTS-STARTPTS`, `fps=${fps}`, `scale=${w}:-16:flags=fast_bilinear`].join(',');
}

/**
 * The ffmpeg command line for one camera, writing concatenated JPEGs to `target`
 * (`pipe:1` for ingest; the benchmark writes the same thing to /dev/null to measure
 * bare ffmpeg). `-loglevel level+info` tags every stderr line with its level so errors
 * can be told from the stream description, and prints nothing per frame.
 */
export function ffmpegArgs(input: FfmpegInput, output: FfmpegOutput, target = 'pipe:1'): string[] {
  return [...inputArgs(input), ...jpegOutputArgs(output, target)];
}

/**
 * The ffmpeg command line that decodes a clip once, as fast as it can (`vigil test`): the
 * same frames and JPEGs as a camera's, frame n at n / fps seconds of the clip.
 */
export function clipArgs(file: string, output: FfmpegOutput, hwaccel: Hwaccel = 'none', target = 'pipe:1'): string[] {
  const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+error', '-fflags', '+discardcorrupt'];
  if (hwaccel !== 'none') args.push('-hwaccel', hwaccel);
  return [...args, '-i', file, ...jpegOutputArgs(output, target)];
}

/**
 * The filter that cuts `box` out of a full-resolution picture and scales it to about the
 * pixels of the `width`-wide picture (the same tokens; never enlarged), sides rounded down to
 * a multiple of 16 (the band splicer's need, and whole MCUs). The picture's aspect is worked
 * out from the crop's own size, so one graph serves any camera resolution.
 */
export function cropFilter(box: CropBox, width: number): string {
  const n = (v: number) => String(Math.round(v * 1e6) / 1e6);
  // Pixels of the scaled picture: width² × (H/W), with H/W = (ih·w)/(iw·h) after the crop.
  const budget = `${width * width}*ih*${n(box.w)}/(iw*${n(box.h)})`;
  const scale = `min(1\\,sqrt(${budget}/(iw*ih)))`;
  const side = (d: 'iw' | 'ih') => `max(16\\,floor(${d}*${scale}/16)*16)`;
  return `crop=w=iw*${n(box.w)}:h=ih*${n(box.h)}:x=iw*${n(box.x)}:y=ih*${n(box.y)},scale=w='${side('iw')}':h='${side('ih')}':flags=bilinear`;
}

/**
 * The size `cropFilter` gives a picture `srcWidth`×`srcHeight` (ffmpeg's crop rounds its
 * sides to the nearest pixel, then to even for 4:2:0 video): for token estimates and tests.
 */
export function cropSize(box: CropBox, srcWidth: number, srcHeight: number, width: number): { width: number; height: number } {
  const cw = Math.round(srcWidth * box.w) & ~1;
  const ch = Math.round(srcHeight * box.h) & ~1;
  const budget = (width * width * ch * box.w) / (cw * box.h);
  const scale = Math.min(1, Math.sqrt(budget / (cw * ch)));
  const side = (d: number) => Math.max(16, Math.floor((d * scale) / 16) * 16);
  return { width: side(cw), height: side(ch) };
}

/**
 * Regroups what an ffmpeg with crops writes (a picture, then its crops in order, for every
 * frame: streams of one output interleave by timestamp, ties in stream order) into frames.
 */
export class FrameGroups {
  private held: Buffer[] = [];

  constructor(private readonly crops: number) {}

  /** Takes the next JPEG of the output; returns a whole group once its last crop arrives. */
  push(jpeg: Buffer): { picture: Buffer; crops: Buffer[] } | undefined {
    if (this.crops === 0) return { picture: jpeg, crops: [] };
    this.held.push(jpeg);
    if (this.held.length <= this.crops) return undefined;
    const [picture, ...crops] = this.held;
    this.held = [];
    return { picture: picture!, crops };
  }
}

function jpegOutputArgs(output: FfmpegOutput, target: string): string[] {
  const crops = output.crops ?? [];
  const streams =
    crops.length === 0
      ? ['-map', '0:v:0', '-vf', frameFilters(output.fps, output.width, output.noUpscale)]
      : [
          '-filter_complex',
          [
            `[0:v:0]setpts=PTS-STARTPTS,fps=${output.fps},split=${crops.length + 1}[full]${crops.map((_, i) => `[c${i}]`).join('')}`,
            `[full]scale=${output.width}:-16:flags=fast_bilinear[picture]`,
            ...crops.map((b, i) => `[c${i}]${cropFilter(b, output.width)}[crop${i}]`),
          ].join(';'),
          ...['-map', '[picture]', ...crops.flatMap((_, i) => ['-map', `[crop${i}]`])],
        ];
  return [
    ...streams,
    ...['-an', '-sn', '-dn'],
    // Standard Huffman tables: every symbol has a code, so infer can append a band to the scan.
    ...['-c:v', 'mjpeg', '-huffman', 'default', '-q:v', String(output.quality ?? 5), '-f', 'image2pipe', '-y', target],
  ];
}

/**
 * The ffmpeg command line that keeps a camera's video as it is (`decode: on_demand`): no
 * decode, the stream's own access units copied into MPEG-TS on `target`, which carries each
 * packet's presentation and decode times (ffmpeg puts the parameter sets before keyframes).
 */
export function ffmpegCopyArgs(input: FfmpegInput, target = 'pipe:1'): string[] {
  // Hardware decoding means nothing to a copy.
  const args = inputArgs({ ...input, hwaccel: 'none' });
  args.push(...['-map', '0:v:0', '-an', '-sn', '-dn', '-c:v', 'copy', '-f', 'mpegts', '-y', target]);
  return args;
}

function inputArgs(input: FfmpegInput): string[] {
  const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-fflags', '+discardcorrupt'];
  const micros = String(Math.round(input.timeoutMs * 1000));
  let source = input.url;
  if (/^rtsps?:/i.test(input.url)) {
    args.push('-rtsp_transport', input.transport, '-timeout', micros);
  } else if (/^https?:/i.test(input.url)) {
    args.push('-rw_timeout', micros);
  } else if (/^file:/i.test(input.url)) {
    // Replay: read at the clip's own pace, forever, as a live camera would deliver it.
    args.push('-re', '-stream_loop', '-1');
    source = decodeURIComponent(input.url.slice('file://'.length));
  }
  if (input.hwaccel !== 'none') args.push('-hwaccel', input.hwaccel);
  args.push(...input.inputArgs, '-i', source);
  return args;
}
