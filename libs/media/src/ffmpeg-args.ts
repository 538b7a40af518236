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
}

/**
 * ffmpeg filters that resample to `fps` and scale to `width`, the height rounded to a
 * multiple of 16 so that infer can splice a timestamp band under the frame (BandSplicer).
 */
export function frameFilters(fps: number, width: number): string {
  return [`setpts=PTS-STARTPTS`, `fps=${fps}`, `scale=${width}:-16:flags=fast_bilinear`].join(',');
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

function jpegOutputArgs(output: FfmpegOutput, target: string): string[] {
  return [
    ...['-map', '0:v:0', '-an', '-sn', '-dn'],
    ...['-vf', frameFilters(output.fps, output.width)],
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
