/**
 * The segments of a baseline JPEG up to its first scan, for the DC decoder. Frames come off
 * the bus, so every field is checked before it sizes a table, an allocation or a loop, and
 * anything out of range is refused with an Error naming the field and its value.
 */
import { MAX_FRAME_PIXELS, MAX_FRAME_SIDE } from '@vigil/contracts';

/** Bits looked up at once when decoding; longer codes take the slow path. */
export const LOOKAHEAD = 9;

/** Decoding tables of one DHT table. */
export interface Huffman {
  /** LOOKAHEAD-bit lookup: (length << 8) | symbol, 0 when the code is longer than LOOKAHEAD bits. */
  lut: Uint16Array;
  maxCode: Int32Array; // per length 1..16, -1 when none
  valPtr: Int32Array;
  minCode: Int32Array;
  symbols: Uint8Array;
  /** Length of the shortest code: the least a symbol of this table can cost. */
  minLen: number;
}

/** A frame component, with the tables the first scan gives it. */
export interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  dc?: Huffman;
  ac?: Huffman;
}

/** What the DC decoder needs to walk the first scan. */
export interface ScanLayout {
  width: number;
  height: number;
  /** Frame components, the first being luma. */
  comps: Component[];
  /** Components of the first scan, in order, with their tables set. */
  scan: Component[];
  restartInterval: number;
  /** DC quantiser of luma. */
  lumaQ0: number;
  /** First byte of the entropy-coded data. */
  start: number;
}

function fail(why: string): never {
  throw new Error(`bad JPEG: ${why}`);
}

/**
 * Canonical codes (T.81 Annex C) with a lookahead table. Refuses counts that overflow a code
 * length (they would index past the tables) and symbols baseline cannot mean: a DC category
 * above 11, an AC size above 10.
 */
function buildHuffman(counts: Uint8Array, symbols: Uint8Array, cls: number, id: number): Huffman {
  for (const s of symbols) {
    if (cls === 0 ? s > 11 : (s & 15) > 10) fail(`${cls === 0 ? 'DC' : 'AC'} Huffman table ${id} has symbol 0x${s.toString(16)}, which baseline does not define`);
  }
  const lut = new Uint16Array(1 << LOOKAHEAD);
  const maxCode = new Int32Array(18).fill(-1);
  const valPtr = new Int32Array(17);
  const minCode = new Int32Array(17);
  let code = 0;
  let k = 0;
  let minLen = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    if (code + n > 1 << len) fail(`Huffman table ${id} has more codes of length ${len} than fit`);
    if (n > 0 && minLen === 0) minLen = len;
    valPtr[len] = k;
    minCode[len] = code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (len <= LOOKAHEAD) {
        const shift = LOOKAHEAD - len;
        lut.fill((len << 8) | symbols[k]!, code << shift, (code + 1) << shift);
      }
    }
    maxCode[len] = n > 0 ? code - 1 : -1;
    code <<= 1;
  }
  return { lut, maxCode, valPtr, minCode, symbols, minLen: minLen || 1 };
}

function readQuant(d: Uint8Array, seg: number, end: number, qt: Int32Array[]): void {
  for (let q = seg; q < end; ) {
    const pq = d[q]! >> 4;
    const tq = d[q]! & 15;
    if (pq > 1 || tq > 3) fail(`DQT names table ${tq} with precision ${pq} (tables 0..3, precision 0 or 1)`);
    const size = 1 + (pq ? 128 : 64);
    if (q + size > end) fail('truncated DQT segment');
    const t = new Int32Array(64);
    for (let i = 0; i < 64; i++) t[i] = pq ? (d[q + 1 + 2 * i]! << 8) | d[q + 2 + 2 * i]! : d[q + 1 + i]!;
    qt[tq] = t;
    q += size;
  }
}

function readHuffmanTables(d: Uint8Array, seg: number, end: number, dc: Huffman[], ac: Huffman[]): void {
  for (let q = seg; q < end; ) {
    const tc = d[q]! >> 4;
    const th = d[q]! & 15;
    if (tc > 1 || th > 3) fail(`DHT names class ${tc} table ${th} (class 0 or 1, tables 0..3)`);
    if (q + 17 > end) fail('truncated DHT segment');
    const counts = d.subarray(q + 1, q + 17);
    let total = 0;
    for (const c of counts) total += c;
    if (total > 256 || q + 17 + total > end) fail(`truncated DHT segment (table of ${total} symbols)`);
    (tc === 0 ? dc : ac)[th] = buildHuffman(counts, d.slice(q + 17, q + 17 + total), tc, th);
    q += 17 + total;
  }
}

function readFrame(d: Uint8Array, seg: number, end: number): { width: number; height: number; comps: Component[] } {
  if (end - seg < 6) fail('truncated frame header');
  if (d[seg] !== 8) fail(`sample precision ${d[seg]} bits (only 8 is supported)`);
  const height = (d[seg + 1]! << 8) | d[seg + 2]!;
  const width = (d[seg + 3]! << 8) | d[seg + 4]!;
  const n = d[seg + 5]!;
  if (n < 1 || n > 4) fail(`${n} components (1..4 are supported)`);
  if (end - seg < 6 + 3 * n) fail('truncated frame header');
  // Height 0 would come from a DNL marker after the scan: too late to size anything.
  if (width === 0 || height === 0) fail(`image is ${width}×${height} px`);
  if (width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE) fail(`image is ${width}×${height} px, more than ${MAX_FRAME_SIDE} px a side`);
  if (width * height > MAX_FRAME_PIXELS) fail(`image is ${width}×${height} px, more than ${MAX_FRAME_PIXELS} pixels`);
  const comps: Component[] = [];
  for (let i = 0; i < n; i++) {
    const o = seg + 6 + i * 3;
    const c = { id: d[o]!, h: d[o + 1]! >> 4, v: d[o + 1]! & 15, tq: d[o + 2]! };
    if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4) fail(`component ${c.id} has sampling factors ${c.h}×${c.v} (each must be 1..4)`);
    if (c.tq > 3) fail(`component ${c.id} uses quantisation table ${c.tq} (0..3)`);
    if (comps.some((x) => x.id === c.id)) fail(`component ${c.id} is defined twice`);
    comps.push(c);
  }
  return { width, height, comps };
}

function readScan(d: Uint8Array, seg: number, end: number, comps: Component[], dcTables: Huffman[], acTables: Huffman[]): Component[] {
  const ns = d[seg]!;
  if (ns < 1 || ns > comps.length) fail(`scan has ${ns} components (frame has ${comps.length})`);
  if (end - seg < 4 + 2 * ns) fail('truncated scan header');
  const ss = d[seg + 1 + 2 * ns]!;
  const se = d[seg + 2 + 2 * ns]!;
  const a = d[seg + 3 + 2 * ns]!;
  if (ss !== 0 || se !== 63 || a !== 0) fail(`scan covers coefficients ${ss}..${se} with approximation ${a} (not sequential)`);
  const scan: Component[] = [];
  for (let i = 0; i < ns; i++) {
    const id = d[seg + 1 + i * 2]!;
    const c = comps.find((x) => x.id === id) ?? fail(`scan names unknown component ${id}`);
    if (scan.includes(c)) fail(`scan names component ${id} twice`);
    const sel = d[seg + 2 + i * 2]!;
    c.dc = dcTables[sel >> 4] ?? fail(`scan uses undefined DC Huffman table ${sel >> 4} (component ${id})`);
    c.ac = acTables[sel & 15] ?? fail(`scan uses undefined AC Huffman table ${sel & 15} (component ${id})`);
    scan.push(c);
  }
  // T.81 B.2.3: an interleaved MCU holds at most 10 blocks.
  const blocks = ns === 1 ? 1 : scan.reduce((s, c) => s + c.h * c.v, 0);
  if (blocks > 10) fail(`interleaved scan has ${blocks} blocks per MCU (at most 10)`);
  if (!scan.includes(comps[0]!)) fail(`first scan does not carry component ${comps[0]!.id} (luma)`);
  return scan;
}

/** Reads a baseline (or 8-bit extended) sequential Huffman JPEG up to its first scan; throws `bad JPEG: …`. */
export function readScanLayout(d: Uint8Array): ScanLayout {
  if (d.length < 4 || d[0] !== 0xff || d[1] !== 0xd8) throw new Error('not a JPEG (no SOI)');
  const qt: Int32Array[] = [];
  const dcTables: Huffman[] = [];
  const acTables: Huffman[] = [];
  let frame: ReturnType<typeof readFrame> | undefined;
  let restartInterval = 0;
  let p = 2;
  for (;;) {
    if (p + 4 > d.length) fail('no scan found');
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
    if (marker === 0xdb) readQuant(d, seg, end, qt);
    else if (marker === 0xc4) readHuffmanTables(d, seg, end, dcTables, acTables);
    else if (marker === 0xc0 || marker === 0xc1) {
      if (frame) fail('more than one frame header');
      frame = readFrame(d, seg, end);
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      fail(`SOF${marker - 0xc0}: only baseline JPEG is supported`);
    } else if (marker === 0xdd) {
      if (len !== 4) fail(`DRI segment of length ${len} (must be 4)`);
      restartInterval = (d[seg]! << 8) | d[seg + 1]!;
    } else if (marker === 0xda) {
      if (!frame) fail('scan before the frame header');
      const scan = readScan(d, seg, end, frame.comps, dcTables, acTables);
      const lumaQ0 = qt[frame.comps[0]!.tq]?.[0] ?? fail(`luma quantisation table ${frame.comps[0]!.tq} missing`);
      return { ...frame, scan, restartInterval, lumaQ0, start: end };
    }
    p = end;
  }
}
