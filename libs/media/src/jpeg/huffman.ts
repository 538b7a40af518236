/**
 * Huffman tables of a baseline JPEG as DHT stores them (ITU T.81 Annex C), read and checked
 * once, and the one canonical code assignment both users build their tables from: the DC
 * decoder's decoding tables, the band encoder's per-symbol codes.
 */

/** One DHT table: counts of codes per length 1..16, then the symbols in code order. */
export interface HuffmanSpec {
  counts: Uint8Array;
  symbols: Uint8Array;
}

/** Table class as DHT numbers it: 0 = DC, 1 = AC. */
type HuffmanClass = 'DC' | 'AC';

/**
 * Reads table `id` of class `cls` at d[p] (just after its Tc/Th byte) and checks it: counts
 * that overflow a code length would index past any table built from them, more than 256
 * symbols repeat one, and a DC category above 11 or an AC size above 10 means nothing in
 * baseline. Copies, not views: a cached
 * table must not keep the frame it came from alive.
 */
export function readHuffmanSpec(d: Uint8Array, p: number, end: number, cls: HuffmanClass, id: number, fail: (why: string) => never): HuffmanSpec {
  if (p + 16 > end) fail('truncated DHT segment');
  const counts = d.slice(p, p + 16);
  let total = 0;
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    total += counts[len - 1]!;
    code += counts[len - 1]!;
    if (code > 1 << len) fail(`${cls} Huffman table ${id} has more codes of length ${len} than fit`);
    code <<= 1;
  }
  if (total > 256) fail(`${cls} Huffman table ${id} has ${total} symbols (at most 256)`);
  if (p + 16 + total > end) fail(`truncated DHT segment (table of ${total} symbols)`);
  const symbols = d.slice(p + 16, p + 16 + total);
  for (const s of symbols) {
    if (cls === 'DC' ? s > 11 : (s & 15) > 10) fail(`${cls} Huffman table ${id} has symbol 0x${s.toString(16)}, which baseline does not define`);
  }
  return { counts, symbols };
}

/** Canonical code assignment (Annex C.2): lengths 1..16 in turn, codes counting up within a length; k indexes the symbols. */
function forEachCode(spec: HuffmanSpec, fn: (symbol: number, code: number, len: number, k: number) => void): void {
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < spec.counts[len - 1]!; i++, k++, code++) fn(spec.symbols[k]!, code, len, k);
    code <<= 1;
  }
}

/** Bits looked up at once when decoding; longer codes take the slow path. */
export const LOOKAHEAD = 9;

/** Decoding tables of one DHT table (T.81 F.2.2.3) with a LOOKAHEAD-bit lookup for the short codes. */
export interface HuffmanDecoder {
  /** LOOKAHEAD-bit lookup: (length << 8) | symbol, 0 when the code is longer than LOOKAHEAD bits. */
  lut: Uint16Array;
  /** Per length 1..16: the last code, -1 when none; the first code and its symbol's index. */
  maxCode: Int32Array;
  valPtr: Int32Array;
  minCode: Int32Array;
  symbols: Uint8Array;
  /** Length of the shortest code: the least a symbol of this table can cost. */
  minLen: number;
}

export function buildDecoder(spec: HuffmanSpec): HuffmanDecoder {
  const maxCode = new Int32Array(18).fill(-1);
  const valPtr = new Int32Array(17);
  const minCode = new Int32Array(17);
  const lut = new Uint16Array(1 << LOOKAHEAD);
  let minLen = 0;
  forEachCode(spec, (sym, c, len, k) => {
    if (maxCode[len] === -1) {
      valPtr[len] = k;
      minCode[len] = c;
      minLen ||= len;
    }
    maxCode[len] = c;
    if (len <= LOOKAHEAD) lut.fill((len << 8) | sym, c << (LOOKAHEAD - len), (c + 1) << (LOOKAHEAD - len));
  });
  return { lut, maxCode, valPtr, minCode, symbols: spec.symbols, minLen: minLen || 1 };
}

/** Encoding tables: code and length of each symbol (length 0 = the table has no code for it). */
export interface HuffmanEncoder {
  code: Uint16Array;
  size: Uint8Array;
}

export function buildEncoder(spec: HuffmanSpec): HuffmanEncoder {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  forEachCode(spec, (sym, c, len) => {
    code[sym] = c;
    size[sym] = len;
  });
  return { code, size };
}
