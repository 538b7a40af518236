/**
 * Label pixels, rendered by ffmpeg's drawtext itself so they match what the model was
 * trained on (Cosmos-Reason1's reference tooling burns the band with drawtext: the same
 * font rasteriser, size and anti-aliasing). All labels are drawn in one ffmpeg run, each in
 * its own 28-row strip, on a full-range (yuvj420p) canvas as the frames are, so black is 0
 * and white 255 (ffmpeg's `gray` is limited range: 16 and 235); the luma comes back as 8-bit
 * grey. A strip is then placed at x = 0 (left) or x = width/2 (right) of a band.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BAND_HEIGHT } from '../band.ts';

const run = promisify(execFile);

export const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/** A label drawn on black: `width` × BAND_HEIGHT grey pixels, text at x = 8, y = 4. */
export interface LabelBitmap {
  width: number;
  data: Uint8Array;
}

/**
 * Characters a label may use: enough for timestamps, and none that drawtext or the filter
 * graph would interpret (quotes, ':', ',', '\', '%' expansions).
 */
const LABEL_RE = /^[A-Za-z0-9 .+_-]{1,32}$/;

export function checkLabel(label: string): void {
  if (!LABEL_RE.test(label)) throw new Error(`invalid band label ${JSON.stringify(label)}: use 1..32 of A-Z a-z 0-9 space . + _ -`);
}

/** Labels drawn per ffmpeg run: keeps the filter graph argument well under Linux's 128 KiB per argument. */
const PER_RUN = 200;

/** Renders each label (distinct, checked) with drawtext; returns their bitmaps by label. */
export async function renderLabels(labels: string[], font: string, ffmpegPath: string): Promise<Map<string, LabelBitmap>> {
  const out = new Map<string, LabelBitmap>();
  for (let i = 0; i < labels.length; i += PER_RUN) {
    const chunk = labels.slice(i, i + PER_RUN);
    for (const [k, v] of await renderChunk(chunk, font, ffmpegPath)) out.set(k, v);
  }
  return out;
}

async function renderChunk(labels: string[], font: string, ffmpegPath: string): Promise<Map<string, LabelBitmap>> {
  labels.forEach(checkLabel);
  // The path goes inside '…' in the filter graph, where a quote or backslash would end or escape it.
  if (/['\\]/.test(font)) throw new Error(`font path ${JSON.stringify(font)} has a quote or backslash`);
  // Wide enough for 20 px glyphs of any font plus the 8 px margin; checked below.
  const width = 16 + 20 * Math.max(...labels.map((l) => l.length));
  const h = BAND_HEIGHT;
  // y = 4: the reference draws at y = h - 24 of the frame padded by the band, 4 rows into it.
  const draws = labels.map((l, j) => `drawtext=fontfile='${font}':fontsize=20:fontcolor=white:x=8:y=${j * h + 4}:text='${l}'`);
  const args = ['-hide_banner', '-v', 'error', '-f', 'lavfi', '-i', `color=c=black:s=${width}x${h * labels.length}:r=1:d=1,format=yuvj420p`];
  args.push('-vf', draws.join(','), '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1');
  const size = width * h * labels.length;
  const { stdout } = await run(ffmpegPath, args, { encoding: 'buffer', maxBuffer: size + (1 << 20) }).catch((e: Error & { stderr?: Buffer }) => {
    throw new Error(`ffmpeg could not render band labels: ${e.stderr?.toString().trim() || e.message}`);
  });
  if (stdout.length !== size) throw new Error(`ffmpeg rendered ${stdout.length} bytes of labels, expected ${size}`);
  const out = new Map<string, LabelBitmap>();
  labels.forEach((label, j) => {
    const data = Uint8Array.from(stdout.subarray(j * width * h, (j + 1) * width * h));
    for (let y = 0; y < h; y++) {
      if (data[y * width + width - 1]! > 0) throw new Error(`band label ${JSON.stringify(label)} is wider than its strip`);
    }
    out.set(label, { width, data });
  });
  return out;
}
