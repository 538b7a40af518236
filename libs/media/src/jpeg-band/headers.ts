/**
 * Reads the segments of a JPEG up to its scan and checks it is a frame the band splicer can
 * extend: baseline sequential Huffman, 8-bit, 4:2:0 YCbCr, one interleaved scan, no restart
 * markers, height a multiple of 16. Anything else is refused with a message naming what is
 * wrong, because a spliced band that a decoder misreads would silently corrupt the frame.
 */
import { MAX_FRAME_PIXELS, MAX_FRAME_SIDE } from '@vigil/contracts';
import { checkSpec, readSpec, type HuffmanSpec } from './huffman.ts';

export interface FrameComponent {
  id: number;
  /** Sampling factors: 2×2 for luma and 1×1 for chroma in 4:2:0. */
  h: number;
  v: number;
  /** Quantisation table id. */
  tq: number;
}

export interface ScanComponent {
  comp: FrameComponent;
  dc: HuffmanSpec;
  ac: HuffmanSpec;
  /** Quantisation values in zig-zag order, as DQT stores them. */
  quant: Uint16Array;
}

export interface JpegLayout {
  width: number;
  height: number;
  /** Offset of the SOF0 segment's height field (2 bytes, big-endian). */
  heightOffset: number;
  /** Components in scan order (the order of blocks within an MCU). */
  scan: ScanComponent[];
  /** Offset of the SOS marker (FF DA). */
  sosOffset: number;
  /** First byte of the entropy-coded data (just past the SOS segment). */
  scanStart: number;
  /**
   * Everything the decode and encode tables depend on (DQT and DHT payloads, component
   * sampling and table selectors), as a string: equal keys can share cached tables and bands.
   */
  tablesKey: string;
}

function fail(why: string): never {
  throw new Error(`cannot splice a band: ${why}`);
}

/** Names of the SOF markers other than baseline, for the rejection message. */
const SOF_NAMES: Record<number, string> = {
  0xc1: 'extended sequential JPEG (SOF1)',
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

interface FrameHeader {
  width: number;
  height: number;
  heightOffset: number;
  comps: FrameComponent[];
}

/** SOF0: precision, size and components; checks 8-bit 4:2:0 with a height the band can follow. */
function readFrameHeader(d: Uint8Array, seg: number, end: number): FrameHeader {
  if (end - seg < 6) fail('truncated SOF0 segment');
  if (d[seg] !== 8) fail(`sample precision ${d[seg]} bits (only 8 is supported)`);
  const height = (d[seg + 1]! << 8) | d[seg + 2]!;
  const width = (d[seg + 3]! << 8) | d[seg + 4]!;
  const n = d[seg + 5]!;
  if (end - seg < 6 + 3 * n) fail('truncated SOF0 segment');
  const comps: FrameComponent[] = [];
  for (let i = 0; i < n; i++) {
    const o = seg + 6 + i * 3;
    comps.push({ id: d[o]!, h: d[o + 1]! >> 4, v: d[o + 1]! & 15, tq: d[o + 2]! });
  }
  const sampling = comps.map((c) => `${c.h}x${c.v}`).join(',');
  if (sampling !== '2x2,1x1,1x1') fail(`not 4:2:0 YCbCr (${n} component${n === 1 ? '' : 's'} sampled ${sampling}; expected 2x2,1x1,1x1)`);
  if (width === 0) fail('width is 0');
  // The size sizes the MCU walk and the band (from a header anyone on the bus can write).
  if (width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE) fail(`image is ${width}×${height} px, more than ${MAX_FRAME_SIDE} px a side`);
  if (width * height > MAX_FRAME_PIXELS) fail(`image is ${width}×${height} px, more than ${MAX_FRAME_PIXELS} pixels`);
  // Height 0 means a DNL marker gives it after the scan; the band needs to know it up front.
  if (height === 0) fail('height 0 (defined by a DNL marker)');
  // The band must start on an MCU row boundary: a partial last MCU row would leave the
  // encoder's padding rows between the picture and the band once the height grows.
  if (height % 16 !== 0) fail(`height ${height} is not a multiple of 16`);
  if (height + 28 > 0xffff) fail(`height ${height} leaves no room for the band`);
  return { width, height, heightOffset: seg + 1, comps };
}

/** DQT: one or more tables, 8- or 16-bit values, kept in zig-zag order. */
function readQuantTables(d: Uint8Array, seg: number, end: number, into: (Uint16Array | undefined)[]): void {
  for (let q = seg; q < end; ) {
    const pq = d[q]! >> 4;
    const tq = d[q]! & 15;
    if (pq > 1 || tq > 3) fail('invalid DQT segment');
    const size = 1 + (pq ? 128 : 64);
    if (q + size > end) fail('truncated DQT segment');
    const t = new Uint16Array(64);
    for (let i = 0; i < 64; i++) t[i] = pq ? (d[q + 1 + 2 * i]! << 8) | d[q + 2 + 2 * i]! : d[q + 1 + i]!;
    if (t.includes(0)) fail(`quantisation table ${tq} has a zero entry`);
    into[tq] = t;
    q += size;
  }
}

/** DHT: one or more tables; class 0 = DC, 1 = AC. */
function readHuffmanTables(d: Uint8Array, seg: number, end: number, dc: (HuffmanSpec | undefined)[], ac: (HuffmanSpec | undefined)[]): void {
  for (let q = seg; q < end; ) {
    const tc = d[q]! >> 4;
    const th = d[q]! & 15;
    if (tc > 1 || th > 3) fail('invalid DHT segment');
    const spec = readSpec(d, q + 1, end);
    checkSpec(spec, tc === 0 ? 'DC' : 'AC', th);
    (tc === 0 ? dc : ac)[th] = spec;
    q += 17 + spec.symbols.length;
  }
}

/** Parses up to the start of the (only) scan. Throws `cannot splice a band: …` on anything unsupported. */
export function readLayout(d: Uint8Array): JpegLayout {
  if (d.length < 4 || d[0] !== 0xff || d[1] !== 0xd8) fail('not a JPEG (no SOI marker)');
  const quant: (Uint16Array | undefined)[] = [];
  const dcSpecs: (HuffmanSpec | undefined)[] = [];
  const acSpecs: (HuffmanSpec | undefined)[] = [];
  const keyParts: string[] = [];
  const latin1 = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  let frame: FrameHeader | undefined;
  let p = 2;
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
    const seg = p + 4;
    const end = p + 2 + len;
    if (len < 2 || end > d.length) fail(`truncated segment 0x${marker.toString(16)} at byte ${p}`);
    if (marker === 0xc0) {
      if (frame) fail('more than one frame header');
      frame = readFrameHeader(d, seg, end);
      keyParts.push(latin1.toString('latin1', seg + 5, end)); // components, not the size
    } else if (SOF_NAMES[marker]) {
      fail(`${SOF_NAMES[marker]}; only baseline sequential (SOF0) is supported`);
    } else if (marker === 0xdb) {
      readQuantTables(d, seg, end, quant);
      keyParts.push(latin1.toString('latin1', p + 1, end));
    } else if (marker === 0xc4) {
      readHuffmanTables(d, seg, end, dcSpecs, acSpecs);
      keyParts.push(latin1.toString('latin1', p + 1, end));
    } else if (marker === 0xcc) {
      fail('arithmetic coding conditioning (DAC) present; only Huffman coding is supported');
    } else if (marker === 0xdd) {
      const ri = len >= 4 ? (d[seg]! << 8) | d[seg + 1]! : 0;
      // The band continues the DC predictors and the bit stream of the last MCU; with
      // restart intervals the MCU count would have to line up with RST markers too.
      if (ri !== 0) fail(`restart interval present (DRI ${ri}); frames with restart markers are not supported`);
    } else if (marker === 0xda) {
      if (!frame) fail('scan (SOS) before the frame header (SOF0)');
      const scan = readScanHeader(d, seg, end, frame, quant, dcSpecs, acSpecs);
      keyParts.push(latin1.toString('latin1', seg, end));
      return { width: frame.width, height: frame.height, heightOffset: frame.heightOffset, scan, sosOffset: p, scanStart: end, tablesKey: keyParts.join('|') };
    }
    p = end;
  }
}

/** SOS: must name all three components (one interleaved scan) with defined tables. */
function readScanHeader(d: Uint8Array, seg: number, end: number, frame: FrameHeader, quant: (Uint16Array | undefined)[], dcSpecs: (HuffmanSpec | undefined)[], acSpecs: (HuffmanSpec | undefined)[]): ScanComponent[] {
  const ns = d[seg]!;
  if (end - seg < 4 + 2 * ns) fail('truncated SOS segment');
  if (ns !== frame.comps.length) fail(`scan has ${ns} of ${frame.comps.length} components (only one interleaved scan is supported)`);
  const ss = d[seg + 1 + 2 * ns]!;
  const se = d[seg + 2 + 2 * ns]!;
  const a = d[seg + 3 + 2 * ns]!;
  if (ss !== 0 || se !== 63 || a !== 0) fail(`scan covers coefficients ${ss}..${se} with approximation ${a} (not sequential)`);
  const scan: ScanComponent[] = [];
  for (let i = 0; i < ns; i++) {
    const id = d[seg + 1 + 2 * i]!;
    const sel = d[seg + 2 + 2 * i]!;
    const comp = frame.comps.find((c) => c.id === id) ?? fail(`scan names unknown component ${id}`);
    if (scan.some((s) => s.comp === comp)) fail(`scan names component ${id} twice`);
    const dc = dcSpecs[sel >> 4] ?? fail(`missing DC Huffman table ${sel >> 4} (component ${id})`);
    const ac = acSpecs[sel & 15] ?? fail(`missing AC Huffman table ${sel & 15} (component ${id})`);
    const q = quant[comp.tq] ?? fail(`missing quantisation table ${comp.tq} (component ${id})`);
    scan.push({ comp, dc, ac, quant: q });
  }
  return scan;
}
