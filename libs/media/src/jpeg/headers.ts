/**
 * The segments of a JPEG up to its first scan, read once for every reader here (the DC
 * decoder, the band splicer, jpegSize). Frames come off the bus, so every field is checked
 * before it sizes a table, an allocation or a loop, and anything out of range is refused
 * through the caller's `fail` with a message naming the field and its value. What a reader
 * supports beyond this (sampling, restart markers, which tables it needs) it checks on the result.
 */
import { MAX_FRAME_PIXELS, MAX_FRAME_SIDE } from '@vigil/contracts';
import { readHuffmanSpec, type HuffmanSpec } from './huffman.ts';

/** Throws an Error whose message says what is wrong with the JPEG (each reader adds its prefix). */
export type Fail = (why: string) => never;

export interface FrameComponent {
  id: number;
  /** Sampling factors (not checked here: each reader says what it supports). */
  h: number;
  v: number;
  /** Quantisation table id. */
  tq: number;
}

/** A component of the first scan with the Huffman tables it selects. */
export interface ScanComponent {
  comp: FrameComponent;
  dc: HuffmanSpec;
  ac: HuffmanSpec;
  /** AC table id the scan header selects (the band splicer names it when refusing a symbol). */
  acTable: number;
}

/** A segment before the scan: its marker, and where it starts (the FF) and ends. */
export interface Segment {
  marker: number;
  at: number;
  end: number;
}

export interface JpegHeaders {
  /** 0xc0 (baseline) or 0xc1 (extended sequential: with 8-bit samples and Huffman tables, decoded alike). */
  sof: number;
  width: number;
  height: number;
  /** Offset of the frame header's height field (2 bytes, big-endian). */
  heightOffset: number;
  /** Frame components, in frame order. */
  comps: FrameComponent[];
  /** Quantisation tables by id, in zig-zag order as DQT stores them. */
  quant: (Uint16Array | undefined)[];
  /** MCUs per restart interval; 0 without DRI. */
  restartInterval: number;
  /** Components of the first scan, in scan order (the order of blocks within an MCU). */
  scan: ScanComponent[];
  /** Every segment before the entropy-coded data, SOS included. */
  segments: Segment[];
  /** Offset of the SOS marker (FF DA). */
  sosOffset: number;
  /** First byte of the entropy-coded data (just past the SOS segment). */
  scanStart: number;
}

/** Names of the frame types other than baseline and extended sequential Huffman, for the refusal. */
const SOF_NAMES: Record<number, string> = {
  0xc2: 'progressive JPEG (SOF2)',
  0xc3: 'lossless JPEG (SOF3)',
  0xc5: 'differential sequential JPEG (SOF5)',
  0xc6: 'differential progressive JPEG (SOF6)',
  0xc7: 'differential lossless JPEG (SOF7)',
  0xc9: 'arithmetic-coded JPEG (SOF9)',
  0xca: 'arithmetic-coded progressive JPEG (SOF10)',
  0xcb: 'arithmetic-coded lossless JPEG (SOF11)',
  0xcd: 'arithmetic-coded differential JPEG (SOF13)',
  0xce: 'arithmetic-coded differential progressive JPEG (SOF14)',
  0xcf: 'arithmetic-coded differential lossless JPEG (SOF15)',
};

/** Whether `d` starts with SOI (and has room for a marker after it). */
export function hasSoi(d: Uint8Array): boolean {
  return d.length >= 4 && d[0] === 0xff && d[1] === 0xd8;
}

/** Whether `marker` is a frame header (SOF0..SOF15; C4, C8 and CC are DHT, JPG and DAC). */
export function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * The segment whose marker is at d[p] (after any FF fill bytes), checked to lie within the
 * data; its end is always past p, so a walk from segment to segment ends. SOI, EOI and RSTn
 * carry no segment and have no place before the scan.
 */
export function nextSegment(d: Uint8Array, p: number, fail: Fail): Segment {
  for (;;) {
    if (p + 4 > d.length) fail('no scan (SOS) found');
    if (d[p] !== 0xff) fail(`expected a marker at byte ${p}`);
    const marker = d[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte before a marker
      continue;
    }
    if (marker === 0xd8 || marker === 0xd9 || (marker >= 0xd0 && marker <= 0xd7)) fail(`unexpected marker 0x${marker.toString(16)} before the scan`);
    const len = (d[p + 2]! << 8) | d[p + 3]!;
    const end = p + 2 + len;
    if (len < 2 || end > d.length) fail(`truncated segment 0x${marker.toString(16)} at byte ${p}`);
    return { marker, at: p, end };
  }
}

/** Reads a sequential Huffman JPEG up to its first scan; anything else or out of range goes to `fail`. */
export function readHeaders(d: Uint8Array, fail: Fail): JpegHeaders {
  if (!hasSoi(d)) fail('not a JPEG (no SOI marker)');
  const quant: (Uint16Array | undefined)[] = [];
  const dc: (HuffmanSpec | undefined)[] = [];
  const ac: (HuffmanSpec | undefined)[] = [];
  const segments: Segment[] = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  for (let p = 2; ; ) {
    const s = nextSegment(d, p, fail);
    const { marker, end } = s;
    const seg = s.at + 4;
    segments.push(s);
    if (marker === 0xdb) readQuantTables(d, seg, end, quant, fail);
    else if (marker === 0xc4) readHuffmanTables(d, seg, end, dc, ac, fail);
    else if (marker === 0xc0 || marker === 0xc1) {
      if (frame) fail('more than one frame header');
      frame = { sof: marker, ...readFrame(d, seg, end, fail) };
    } else if (isFrameHeader(marker)) {
      fail(`${SOF_NAMES[marker]}; only baseline sequential (SOF0) is supported`);
    } else if (marker === 0xdd) {
      if (end - s.at !== 6) fail(`DRI segment of length ${end - s.at - 2} (must be 4)`);
      restartInterval = (d[seg]! << 8) | d[seg + 1]!;
    } else if (marker === 0xda) {
      if (!frame) fail('scan (SOS) before the frame header');
      const scan = readScan(d, seg, end, frame.comps, dc, ac, fail);
      return { ...frame, quant, restartInterval, scan, segments, sosOffset: s.at, scanStart: end };
    }
    // Anything else (APPn, COM, DNL, …) is skipped by its length.
    p = end;
  }
}

type Frame = Pick<JpegHeaders, 'sof' | 'width' | 'height' | 'heightOffset' | 'comps'>;

/** DQT: one or more tables, 8- or 16-bit values. */
function readQuantTables(d: Uint8Array, seg: number, end: number, into: (Uint16Array | undefined)[], fail: Fail): void {
  for (let q = seg; q < end; ) {
    const pq = d[q]! >> 4;
    const tq = d[q]! & 15;
    if (pq > 1 || tq > 3) fail(`DQT names table ${tq} with precision ${pq} (tables 0..3, precision 0 or 1)`);
    const size = 1 + (pq ? 128 : 64);
    if (q + size > end) fail('truncated DQT segment');
    const t = new Uint16Array(64);
    for (let i = 0; i < 64; i++) t[i] = pq ? (d[q + 1 + 2 * i]! << 8) | d[q + 2 + 2 * i]! : d[q + 1 + i]!;
    into[tq] = t;
    q += size;
  }
}

/** DHT: one or more tables; class 0 = DC, 1 = AC. */
function readHuffmanTables(d: Uint8Array, seg: number, end: number, dc: (HuffmanSpec | undefined)[], ac: (HuffmanSpec | undefined)[], fail: Fail): void {
  for (let q = seg; q < end; ) {
    const tc = d[q]! >> 4;
    const th = d[q]! & 15;
    if (tc > 1 || th > 3) fail(`DHT names class ${tc} table ${th} (class 0 or 1, tables 0..3)`);
    const spec = readHuffmanSpec(d, q + 1, end, tc === 0 ? 'DC' : 'AC', th, fail);
    (tc === 0 ? dc : ac)[th] = spec;
    q += 17 + spec.symbols.length;
  }
}

/** SOF0/SOF1: 8-bit samples, a size within the frame limits, 1..4 components. */
function readFrame(d: Uint8Array, seg: number, end: number, fail: Fail): Omit<Frame, 'sof'> {
  if (end - seg < 6) fail('truncated frame header');
  if (d[seg] !== 8) fail(`sample precision ${d[seg]} bits (only 8 is supported)`);
  const height = (d[seg + 1]! << 8) | d[seg + 2]!;
  const width = (d[seg + 3]! << 8) | d[seg + 4]!;
  const n = d[seg + 5]!;
  if (n < 1 || n > 4) fail(`${n} components (1..4 are supported)`);
  if (end - seg < 6 + 3 * n) fail('truncated frame header');
  if (width === 0) fail('width is 0');
  // Height 0 means a DNL marker gives it after the scan: too late to size anything.
  if (height === 0) fail('height 0 (defined by a DNL marker)');
  // The size sizes every walk and allocation after this, and anyone on the bus can write it.
  if (width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE) fail(`image is ${width}×${height} px, more than ${MAX_FRAME_SIDE} px a side`);
  if (width * height > MAX_FRAME_PIXELS) fail(`image is ${width}×${height} px, more than ${MAX_FRAME_PIXELS} pixels`);
  const comps: FrameComponent[] = [];
  for (let i = 0; i < n; i++) {
    const o = seg + 6 + i * 3;
    comps.push({ id: d[o]!, h: d[o + 1]! >> 4, v: d[o + 1]! & 15, tq: d[o + 2]! });
  }
  return { width, height, heightOffset: seg + 1, comps };
}

/** SOS: known components, each once, with defined tables, covering all coefficients in one pass. */
function readScan(d: Uint8Array, seg: number, end: number, comps: FrameComponent[], dc: (HuffmanSpec | undefined)[], ac: (HuffmanSpec | undefined)[], fail: Fail): ScanComponent[] {
  const ns = d[seg]!;
  if (ns < 1 || ns > comps.length) fail(`scan has ${ns} components (frame has ${comps.length})`);
  if (end - seg < 4 + 2 * ns) fail('truncated scan header');
  const ss = d[seg + 1 + 2 * ns]!;
  const se = d[seg + 2 + 2 * ns]!;
  const a = d[seg + 3 + 2 * ns]!;
  if (ss !== 0 || se !== 63 || a !== 0) fail(`scan covers coefficients ${ss}..${se} with approximation ${a} (not sequential)`);
  const scan: ScanComponent[] = [];
  for (let i = 0; i < ns; i++) {
    const id = d[seg + 1 + 2 * i]!;
    const sel = d[seg + 2 + 2 * i]!;
    const comp = comps.find((c) => c.id === id) ?? fail(`scan names unknown component ${id}`);
    if (scan.some((s) => s.comp === comp)) fail(`scan names component ${id} twice`);
    const dcTable = sel >> 4;
    const acTable = sel & 15;
    scan.push({
      comp,
      dc: dc[dcTable] ?? fail(`missing DC Huffman table ${dcTable} (component ${id})`),
      ac: ac[acTable] ?? fail(`missing AC Huffman table ${acTable} (component ${id})`),
      acTable,
    });
  }
  return scan;
}
