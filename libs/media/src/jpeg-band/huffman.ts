/**
 * Huffman tables of a baseline JPEG (ITU T.81 Annex C), in the two shapes the band splicer
 * needs: lookup tables that walk the frame's scan quickly, and per-symbol codes to write the
 * band with the frame's own tables (so the decoder reading the frame reads the band too).
 */

/** One DHT table as stored: counts of codes per length 1..16, then the symbols in code order. */
export interface HuffmanSpec {
  counts: Uint8Array;
  symbols: Uint8Array;
}

/** Bits looked up at once when decoding; longer codes (rare with the Annex K tables) go slow. */
export const LOOKAHEAD = 10;

/**
 * Decoding tables. `lut` is indexed by the next LOOKAHEAD bits; what an entry packs depends on
 * the table class (see buildDcLut / buildAcLut); 0 means "code longer than LOOKAHEAD".
 * maxCode/valPtr/minCode are the canonical-code tables of Annex C for the slow path.
 */
export interface HuffmanDecoder {
  lut: Uint16Array;
  maxCode: Int32Array;
  valPtr: Int32Array;
  minCode: Int32Array;
  symbols: Uint8Array;
  /** Length of the shortest code: the least a symbol of this table costs. */
  minLen: number;
}

/** Encoding tables: code and length of each symbol (length 0 = the table has no code for it). */
export interface HuffmanEncoder {
  code: Uint16Array;
  size: Uint8Array;
}

/** AC run/size symbols of baseline JPEG: EOB, ZRL and (run 0..15, size 1..10). */
const AC_SYMBOLS: number[] = [0x00, 0xf0];
for (let r = 0; r < 16; r++) for (let s = 1; s <= 10; s++) AC_SYMBOLS.push((r << 4) | s);

/** Reads one table (at `p`, after its Tc/Th byte) from a DHT payload. */
export function readSpec(d: Uint8Array, p: number, end: number): HuffmanSpec {
  if (p + 16 > end) throw new Error('cannot splice a band: truncated DHT segment');
  // Copies, not views: a cached layout must not keep the first frame's buffer alive.
  const counts = d.slice(p, p + 16);
  let total = 0;
  for (let i = 0; i < 16; i++) total += counts[i]!;
  if (p + 16 + total > end) throw new Error('cannot splice a band: truncated DHT segment');
  return { counts, symbols: d.slice(p + 16, p + 16 + total) };
}

/**
 * Refuses a table a decoder would read differently from the splicer: more codes of a length
 * than fit (they would index past the tables), a DC category above 11, or an AC symbol that
 * baseline leaves undefined (size above 10, or size 0 other than EOB and ZRL).
 */
export function checkSpec(spec: HuffmanSpec, cls: 'DC' | 'AC', id: number): void {
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    code += spec.counts[len - 1]!;
    if (code > 1 << len) throw new Error(`cannot splice a band: ${cls} Huffman table ${id} has more codes of length ${len} than fit`);
    code <<= 1;
  }
  for (const s of spec.symbols) {
    const bad = cls === 'DC' ? s > 11 : (s & 15) > 10 || ((s & 15) === 0 && s !== 0x00 && s !== 0xf0);
    if (bad) throw new Error(`cannot splice a band: ${cls} Huffman table ${id} has symbol 0x${s.toString(16)}, which baseline does not define`);
  }
}

/** Canonical code assignment (Annex C.2): walk lengths 1..16, codes count up within a length. */
function forEachCode(spec: HuffmanSpec, fn: (symbol: number, code: number, len: number) => void): void {
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < spec.counts[len - 1]!; i++, k++, code++) fn(spec.symbols[k]!, code, len);
    code <<= 1;
  }
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

/**
 * The band's symbols depend on the frame's last DC values and on the label, so every symbol
 * the band could need must have a code: a table optimised for one frame (`-huffman optimal`)
 * usually lacks some. Returns a description of the first missing symbol, or undefined.
 */
export function missingSymbol(enc: HuffmanEncoder, cls: 'DC' | 'AC'): string | undefined {
  const needed = cls === 'DC' ? Array.from({ length: 12 }, (_, i) => i) : AC_SYMBOLS;
  for (const s of needed) if (enc.size[s] === 0) return cls === 'DC' ? `category ${s}` : `run/size 0x${s.toString(16).padStart(2, '0')}`;
  return undefined;
}

function buildCanonical(spec: HuffmanSpec): Omit<HuffmanDecoder, 'lut'> {
  const maxCode = new Int32Array(18).fill(-1);
  const valPtr = new Int32Array(17);
  const minCode = new Int32Array(17);
  let code = 0;
  let k = 0;
  let minLen = 0;
  for (let len = 1; len <= 16; len++) {
    valPtr[len] = k;
    minCode[len] = code;
    const n = spec.counts[len - 1]!;
    if (n > 0 && minLen === 0) minLen = len;
    code += n;
    k += n;
    maxCode[len] = n > 0 ? code - 1 : -1;
    code <<= 1;
  }
  return { maxCode, valPtr, minCode, symbols: spec.symbols, minLen: minLen || 1 };
}

/**
 * DC decoder: an entry packs the code length (bits 0..4) and the difference category
 * (bits 5..9). The category's extra bits are read separately because their value matters.
 */
export function buildDcDecoder(spec: HuffmanSpec): HuffmanDecoder {
  const lut = new Uint16Array(1 << LOOKAHEAD);
  forEachCode(spec, (sym, code, len) => {
    if (len > LOOKAHEAD) return;
    const shift = LOOKAHEAD - len;
    lut.fill(len | (sym << 5), code << shift, (code + 1) << shift);
  });
  return { lut, ...buildCanonical(spec) };
}

/** Zig-zag advance written for EOB: any value ≥ 128 ends the block and is told apart from an overrun. */
export const EOB_ADVANCE = 128;

/**
 * AC decoder for skipping: coefficient values are not needed, only how many bits a symbol
 * takes and how far it moves in zig-zag order. An entry packs code length + extra bits
 * (bits 0..4) and the advance (bits 5..12): run + 1, 16 for ZRL, EOB_ADVANCE for EOB.
 */
export function buildAcDecoder(spec: HuffmanSpec): HuffmanDecoder {
  const lut = new Uint16Array(1 << LOOKAHEAD);
  forEachCode(spec, (sym, code, len) => {
    if (len > LOOKAHEAD) return;
    const shift = LOOKAHEAD - len;
    lut.fill(len + (sym & 15) + (acAdvance(sym) << 5), code << shift, (code + 1) << shift);
  });
  return { lut, ...buildCanonical(spec) };
}

/** How far an AC run/size symbol moves in zig-zag order. */
export function acAdvance(sym: number): number {
  if (sym === 0x00) return EOB_ADVANCE;
  if (sym === 0xf0) return 16;
  return (sym >> 4) + 1;
}

/**
 * Slow path for codes longer than LOOKAHEAD: `peek16` is the next 16 bits. Returns
 * (length << 8) | symbol, or throws on a bit pattern no code starts with.
 */
export function decodeLong(h: HuffmanDecoder, peek16: number): number {
  for (let len = 1; len <= 16; len++) {
    const code = peek16 >>> (16 - len);
    if (code <= h.maxCode[len]!) return (len << 8) | h.symbols[h.valPtr[len]! + code - h.minCode[len]!]!;
  }
  throw new Error('cannot splice a band: corrupt scan: bits match no Huffman code');
}
