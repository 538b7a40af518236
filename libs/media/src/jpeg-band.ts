/**
 * Adds the timestamp band Cosmos-Reason1 reads (black, 28 px, white monospace `S.SSs`) under
 * a JPEG frame without decoding or re-encoding the frame: the band is appended to the
 * frame's entropy-coded data as two more MCU rows, coded with the frame's own tables, and the
 * frame header's height grows by 28 (decoders crop the last 4 rows of the 32 coded).
 *
 * The band joins the frame's scan after a restart marker: a DRI segment with an interval of
 * exactly the frame's MCU count, and RST0 between frame and band. The decoder then resets its
 * predictors and byte-aligns before the band, so the frame's scan is copied untouched and
 * never decoded, and the band is a constant byte string (~10 µs per frame, a copy). Its
 * bytes are computed once per (tables, width, label, side).
 * Frames must be what ingest's mjpeg encoder makes with `-huffman default`: baseline, 4:2:0,
 * no restart markers, height a multiple of 16 — anything else is refused.
 */
import { BAND_HEIGHT } from './band.ts';
import { encodeBand, missingSymbol, type BandComponent } from './jpeg-band/band-encoder.ts';
import { readLayout, type JpegLayout } from './jpeg-band/layout.ts';
import { buildEncoder } from './jpeg/huffman.ts';
import { DEFAULT_FONT, checkLabel, renderLabels, type LabelBitmap } from './jpeg-band/labels.ts';
import { findScanBytesEnd } from './jpeg-band/scan-end.ts';

export type BandSide = 'left' | 'right';

/**
 * The label of frame `i` of a window (0-based within the window) at `fps`, formatted as the
 * model's training data did with Python's f"{i/fps:.2f}s". Python rounds exact ties to even
 * where toFixed rounds them up; at two decimals the only exact ties are odd multiples of
 * 1/8 s (e.g. 0.125 → "0.12s" in Python, "0.13s" with toFixed), so those are special-cased.
 */
export function windowLabel(i: number, fps: number): string {
  const t = i / fps;
  const eighths = t * 8;
  if (Number.isInteger(eighths) && eighths % 2 !== 0) {
    const hundredths = Math.floor(t * 100); // t·100 ends in exactly .5 here
    return `${((hundredths % 2 === 0 ? hundredths : hundredths + 1) / 100).toFixed(2)}s`;
  }
  return `${t.toFixed(2)}s`;
}

/** The side the label goes on for frame `i` of a window: left for even, right for odd. */
export function windowSide(i: number): BandSide {
  return i % 2 === 0 ? 'left' : 'right';
}

/** Labels rendered by default: 64 frames at 4 fps (16 s windows). */
const DEFAULT_LABELS = Array.from({ length: 64 }, (_, i) => windowLabel(i, 4));

/** Band rows coded: two MCU rows of 16, of which BAND_HEIGHT are shown. */
const CODED_ROWS = 32;

/**
 * Caps on cached state (a frame table set is one per encoder setting, so few in practice).
 * Tables, widths and (through the frame rate) labels come from frames anyone on the bus can
 * write, so the caches are bounded in count and in bytes, not by what arrives.
 */
const MAX_CONTEXTS = 32;
const MAX_BANDS_PER_CONTEXT = 1024;
const MAX_BAND_BYTES = 32 * 1024 * 1024;
const MAX_LABELS = 4096;

/** Tables derived from one set of frame tables (DQT, DHT, sampling), and the bands coded with them. */
interface TablesContext {
  comps: BandComponent[];
  /** By width, side and label: the band's bytes as they follow RST0 (see encodeBand). */
  bands: Map<string, Uint8Array>;
  /** Bytes held by `bands`. */
  bytes: number;
}

export interface BandSplicerOptions {
  /** Font file for drawtext (default DejaVu Sans Mono, as the reference tooling uses). */
  font?: string;
  /** Labels to render up front (default windowLabel(i, 4) for i < 64). */
  labels?: Iterable<string>;
  /** The ffmpeg that renders the labels (default `ffmpeg` on the PATH; the config's `ingest.ffmpeg_path`). */
  ffmpegPath?: string;
}

export class BandSplicer {
  private readonly bitmaps = new Map<string, LabelBitmap>();
  private readonly contexts = new Map<string, TablesContext>();
  /** The last frame's header bytes (SOI up to the scan) and their layout: frames of one stream repeat them. */
  private lastHeader?: Buffer;
  /** Per frame: where its scan ends and where its 3-byte-aligned bulk ends (spliceBase64). */
  private readonly scans = new WeakMap<Uint8Array, { sosOffset: number; eoi: number; split: number }>();
  private lastLayout?: JpegLayout;
  /** Bytes held by the bands of all contexts. */
  private bandBytes = 0;

  private constructor(
    private readonly font: string,
    private readonly ffmpegPath: string,
  ) {}

  /** Renders the labels' pixels (one ffmpeg run) and returns a splicer ready for them. */
  static async open(opts: BandSplicerOptions = {}): Promise<BandSplicer> {
    const s = new BandSplicer(opts.font ?? DEFAULT_FONT, opts.ffmpegPath ?? 'ffmpeg');
    await s.prepare(opts.labels ?? DEFAULT_LABELS);
    return s;
  }

  /** Renders any of `labels` not rendered yet (one ffmpeg run for all of them). */
  async prepare(labels: Iterable<string>): Promise<void> {
    const todo = [...new Set(labels)].filter((l) => !this.bitmaps.has(l));
    todo.forEach(checkLabel);
    if (todo.length === 0) return;
    if (this.bitmaps.size + todo.length > MAX_LABELS) this.bitmaps.clear();
    for (const [label, bitmap] of await renderLabels(todo, this.font, this.ffmpegPath)) this.bitmaps.set(label, bitmap);
  }

  /** Whether `label` can be spliced without prepare(). */
  has(label: string): boolean {
    return this.bitmaps.has(label);
  }

  /**
   * Returns a new baseline JPEG, 28 rows taller than `jpeg`, whose bottom 28 rows are a black
   * band with `label` drawn at x = 8 (left) or width/2 + 8 (right). Throws `cannot splice a
   * band: …` for a frame that is not ingest's kind of JPEG, or if `label` was not prepared.
   */
  splice(jpeg: Uint8Array, label: string, side: BandSide): Buffer {
    const { layout, mcus, band } = this.parts(jpeg, label, side);
    return spliceRestart(jpeg, layout, mcus, band);
  }

  /**
   * The same JPEG as `splice(…)`, plus a COM segment of 4–6 bytes that makes the header a
   * multiple of 3 bytes long, returned as base64 (ASCII) pieces whose concatenation is the
   * whole file's base64 — written straight into a request body, with no
   * spliced copy of the JPEG in between. The middle piece is the frame's own scan (nearly all
   * of it): the same for every window the frame is sent in, so a caller may keep it; this
   * splicer does not (at 200 cameras the kept text outweighed the encoding it saved).
   */
  spliceBase64(jpeg: Buffer, label: string, side: BandSide): Buffer[] {
    const { layout, mcus, band } = this.parts(jpeg, label, side);
    let scan = this.scans.get(jpeg);
    if (!scan || scan.sosOffset !== layout.sosOffset) {
      const eoi = findScanBytesEnd(jpeg, layout.scanStart);
      const whole = Math.floor((eoi - layout.sosOffset) / 3) * 3;
      scan = { sosOffset: layout.sosOffset, eoi, split: layout.sosOffset + whole };
      this.scans.set(jpeg, scan);
    }
    const bulk = Buffer.from(jpeg.toString('base64', layout.sosOffset, scan.split), 'latin1');
    // Header: SOI…tables with the new height, DRI, then COM padding to a multiple of 3.
    const pad = (3 - ((layout.sosOffset + 6 + 4) % 3)) % 3;
    const head = Buffer.allocUnsafe(layout.sosOffset + 6 + 4 + pad);
    head.set(jpeg.subarray(0, layout.sosOffset));
    patchHeight(head, layout);
    let o = layout.sosOffset;
    for (const b of [0xff, 0xdd, 0, 4, mcus >> 8, mcus & 0xff, 0xff, 0xfe, 0, 2 + pad]) head[o++] = b;
    head.fill(0x20, o); // the comment's text: spaces
    const tail = Buffer.allocUnsafe(scan.eoi - scan.split + 2 + band.length + 2);
    tail.set(jpeg.subarray(scan.split, scan.eoi));
    o = scan.eoi - scan.split;
    tail[o++] = 0xff;
    tail[o++] = 0xd0; // RST0
    tail.set(band, o);
    o += band.length;
    tail[o++] = 0xff;
    tail[o] = 0xd9; // EOI
    return [Buffer.from(head.toString('base64'), 'latin1'), bulk, Buffer.from(tail.toString('base64'), 'latin1')];
  }

  /** What both splices need: the frame's layout, its MCU count and the band's bytes. */
  private parts(jpeg: Uint8Array, label: string, side: BandSide): { layout: JpegLayout; mcus: number; band: Uint8Array } {
    if (side !== 'left' && side !== 'right') throw new Error(`cannot splice a band: side must be 'left' or 'right', not ${JSON.stringify(side)}`);
    const layout = this.layout(jpeg);
    const mcus = restartSpan(layout);
    return { layout, mcus, band: this.band(this.context(layout), layout.width, label, side) };
  }

  /** Parses the headers, or reuses the last frame's layout when its header bytes are the same. */
  private layout(jpeg: Uint8Array): JpegLayout {
    const d = Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
    const last = this.lastHeader;
    if (last && d.length > last.length && d.compare(last, 0, last.length, 0, last.length) === 0) return this.lastLayout!;
    const layout = readLayout(jpeg);
    this.lastHeader = Buffer.from(d.subarray(0, layout.scanStart));
    this.lastLayout = layout;
    return layout;
  }

  /** Encode tables for a frame's table set, checked once per distinct set. */
  private context(layout: JpegLayout): TablesContext {
    const cached = this.contexts.get(layout.tablesKey);
    if (cached) return cached;
    const comps: BandComponent[] = layout.scan.map((s, i) => {
      const dc = buildEncoder(s.dc);
      const ac = buildEncoder(s.ac);
      const missing = missingSymbol(dc, 'DC') ?? missingSymbol(ac, 'AC');
      if (missing) {
        const which = missingSymbol(dc, 'DC') ? 'DC' : 'AC';
        throw new Error(`cannot splice a band: the ${which} Huffman table of component ${s.comp.id} has no code for ${missing} (frames must be encoded with -huffman default)`);
      }
      return { h: s.comp.h, v: s.comp.v, luma: i === layout.scan.findIndex((x) => x.comp.h === 2), quant: s.quant, dc, ac };
    });
    if (this.contexts.size >= MAX_CONTEXTS) {
      this.contexts.clear();
      this.bandBytes = 0;
    }
    const ctx: TablesContext = { comps, bands: new Map(), bytes: 0 };
    this.contexts.set(layout.tablesKey, ctx);
    return ctx;
  }

  /** The band's bytes for (width, label, side) under a context's tables. */
  private band(ctx: TablesContext, width: number, label: string, side: BandSide): Uint8Array {
    const key = `${width}|${side}|${label}`;
    const cached = ctx.bands.get(key);
    if (cached) return cached;
    const bitmap = this.bitmaps.get(label);
    if (!bitmap) throw new Error(`cannot splice a band: label ${JSON.stringify(label)} was not rendered (pass it to BandSplicer.open({ labels }) or await prepare())`);
    const mcusX = Math.ceil(width / 16);
    const plane = bandPlane(bitmap, width, mcusX * 16, side === 'left' ? 0 : Math.trunc(width / 2));
    const band = encodeBand(plane, mcusX * 16, mcusX, ctx.comps);
    const size = band.length;
    if (ctx.bands.size >= MAX_BANDS_PER_CONTEXT) {
      this.bandBytes -= ctx.bytes;
      ctx.bands.clear();
      ctx.bytes = 0;
    }
    if (this.bandBytes + size > MAX_BAND_BYTES) {
      for (const c of this.contexts.values()) (c.bands.clear(), (c.bytes = 0));
      this.bandBytes = 0;
    }
    ctx.bands.set(key, band);
    ctx.bytes += size;
    this.bandBytes += size;
    return band;
  }
}

/**
 * SOI…tables, DRI (interval = the frame's MCU count), SOS and the frame's scan bytes
 * untouched, RST0, the band's bytes, EOI. After the frame's last MCU a decoder expects RST0,
 * discards the frame's padding bits, resets the DC predictors and reads the band's 2 MCU
 * rows as a last, shorter interval (T.81 E.1.4 allows that).
 */
function spliceRestart(jpeg: Uint8Array, layout: JpegLayout, mcus: number, bytes: Uint8Array): Buffer {
  const eoi = findScanBytesEnd(jpeg, layout.scanStart);
  const dri = 6;
  const out = Buffer.allocUnsafe(eoi + dri + 2 + bytes.length + 2);
  out.set(jpeg.subarray(0, layout.sosOffset));
  patchHeight(out, layout);
  let o = layout.sosOffset;
  out[o++] = 0xff;
  out[o++] = 0xdd; // DRI, length 4, interval
  out[o++] = 0;
  out[o++] = 4;
  out[o++] = mcus >> 8;
  out[o++] = mcus & 0xff;
  out.set(jpeg.subarray(layout.sosOffset, eoi), o);
  o += eoi - layout.sosOffset;
  out[o++] = 0xff;
  out[o++] = 0xd0; // RST0
  out.set(bytes, o);
  o += bytes.length;
  out[o++] = 0xff;
  out[o++] = 0xd9; // EOI
  return out;
}

/** The frame's MCU count, which the DRI must span; throws when it cannot. */
function restartSpan(layout: JpegLayout): number {
  const mcus = Math.ceil(layout.width / 16) * (layout.height / 16);
  if (mcus > 0xffff) throw new Error(`cannot splice a band: ${mcus} MCUs are more than a restart interval can span (at most 65535: about 16 megapixels)`);
  return mcus;
}

/** The frame header's height grows by the band's shown rows (the coded 32 are cropped to 28). */
function patchHeight(out: Buffer, layout: JpegLayout): void {
  const h = layout.height + BAND_HEIGHT;
  out[layout.heightOffset] = h >> 8;
  out[layout.heightOffset + 1] = h & 0xff;
}

/**
 * The band's luma, `stride` × 32: black with the label strip at column x0, clipped at the
 * image width as drawtext clips at the frame edge. Pixels past the image (the last 4 rows,
 * columns up to the MCU edge) repeat the edge, as encoders pad, so no needless detail is
 * coded where the decoder crops anyway.
 */
function bandPlane(bitmap: LabelBitmap, width: number, stride: number, x0: number): Uint8Array {
  const plane = new Uint8Array(stride * CODED_ROWS);
  for (let y = 0; y < BAND_HEIGHT; y++) {
    const row = y * stride;
    for (let x = 0; x < bitmap.width && x0 + x < width; x++) plane[row + x0 + x] = bitmap.data[y * bitmap.width + x]!;
    plane.fill(plane[row + width - 1]!, row + width, row + stride);
  }
  for (let y = BAND_HEIGHT; y < CODED_ROWS; y++) plane.copyWithin(y * stride, (BAND_HEIGHT - 1) * stride, BAND_HEIGHT * stride);
  return plane;
}
