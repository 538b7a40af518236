/**
 * Per-symbol codes of a frame's Huffman tables, to write the band with the frame's own
 * tables (so the decoder reading the frame reads the band too).
 */
import { forEachCode, type HuffmanSpec } from '../jpeg/huffman.ts';

/** Encoding tables: code and length of each symbol (length 0 = the table has no code for it). */
export interface HuffmanEncoder {
  code: Uint16Array;
  size: Uint8Array;
}

/** AC run/size symbols of baseline JPEG: EOB, ZRL and (run 0..15, size 1..10). */
const AC_SYMBOLS: number[] = [0x00, 0xf0];
for (let r = 0; r < 16; r++) for (let s = 1; s <= 10; s++) AC_SYMBOLS.push((r << 4) | s);

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
 * The band's symbols depend on the label, so every symbol the band could need must have a
 * code: a table optimised for one frame (`-huffman optimal`) usually lacks some. Returns a
 * description of the first missing symbol, or undefined.
 */
export function missingSymbol(enc: HuffmanEncoder, cls: 'DC' | 'AC'): string | undefined {
  const needed = cls === 'DC' ? Array.from({ length: 12 }, (_, i) => i) : AC_SYMBOLS;
  for (const s of needed) if (enc.size[s] === 0) return cls === 'DC' ? `category ${s}` : `run/size 0x${s.toString(16).padStart(2, '0')}`;
  return undefined;
}
