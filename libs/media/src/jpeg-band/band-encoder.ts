/**
 * Encodes the band (two MCU rows: 32 pixel rows, of which the image shows 28) as baseline
 * JPEG blocks with a frame's own quantisation and Huffman tables: level shift, forward DCT,
 * quantise, zig-zag, run-length and Huffman code (T.81 Annex A, F.1.2). Only luma carries
 * the label; chroma blocks are all zero (neutral grey, so black and white stay colourless).
 *
 * The band follows a restart marker, so its DC predictors start at 0 and its bytes do not
 * depend on the frame: they are kept per (tables, width, label, side).
 */
import { BitString, category, extraBits } from '../jpeg/bits.ts';
import type { HuffmanEncoder } from '../jpeg/huffman.ts';

/** Zig-zag index → natural (row-major) index in an 8×8 block. */
const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29,
  22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
]);

/** What the encoder needs of one scan component. */
export interface BandComponent {
  /** Blocks per MCU across and down (2×2 for 4:2:0 luma, 1×1 for chroma). */
  h: number;
  v: number;
  /** True for the component that carries the label (luma); others are coded as zero blocks. */
  luma: boolean;
  /** Quantisation values in zig-zag order. */
  quant: Uint16Array;
  dc: HuffmanEncoder;
  ac: HuffmanEncoder;
}

/** AC run/size symbols of baseline JPEG: EOB, ZRL and (run 0..15, size 1..10). */
const AC_SYMBOLS: number[] = [0x00, 0xf0];
for (let r = 0; r < 16; r++) for (let s = 1; s <= 10; s++) AC_SYMBOLS.push((r << 4) | s);

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

/** C[u * 8 + x] = c(u)/2 · cos((2x+1)uπ/16): the orthonormal 8-point DCT-II basis. */
const DCT = new Float64Array(64);
for (let u = 0; u < 8; u++) {
  for (let x = 0; x < 8; x++) DCT[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
}

function isFlat(plane: Uint8Array, stride: number, x0: number, y0: number): boolean {
  const v0 = plane[y0 * stride + x0]!;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) if (plane[(y0 + y) * stride + x0 + x] !== v0) return false;
  return true;
}

/** Forward DCT of the level-shifted block at (x0, y0) of an 8-bit plane; natural order out. */
function forwardDct(plane: Uint8Array, stride: number, x0: number, y0: number): Float64Array {
  // Most of a band is flat black: a flat block has only DC (8 × its level-shifted value).
  if (isFlat(plane, stride, x0, y0)) {
    const out = new Float64Array(64);
    out[0] = 8 * (plane[y0 * stride + x0]! - 128);
    return out;
  }
  const rows = new Float64Array(64); // DCT along x, per row
  for (let y = 0; y < 8; y++) {
    const line = (y0 + y) * stride + x0;
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let x = 0; x < 8; x++) s += DCT[u * 8 + x]! * (plane[line + x]! - 128);
      rows[y * 8 + u] = s;
    }
  }
  const out = new Float64Array(64); // then along y
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < 8; y++) s += DCT[v * 8 + y]! * rows[y * 8 + u]!;
      out[v * 8 + u] = s;
    }
  }
  return out;
}

/**
 * Quantised coefficients in zig-zag order, rounded half away from zero, clamped to what
 * baseline Huffman coding can carry (AC category ≤ 10; DC differences are checked later).
 */
function quantise(coef: Float64Array, quant: Uint16Array): Int32Array {
  const out = new Int32Array(64);
  for (let k = 0; k < 64; k++) {
    const x = coef[ZIGZAG[k]!]! / quant[k]!;
    const q = Math.sign(x) * Math.round(Math.abs(x));
    out[k] = k === 0 ? q : Math.max(-1023, Math.min(1023, q));
  }
  return out;
}

function putSymbol(bits: BitString, enc: HuffmanEncoder, sym: number): void {
  const len = enc.size[sym]!;
  if (len === 0) throw new Error(`Huffman table has no code for symbol 0x${sym.toString(16)}`);
  bits.put(enc.code[sym]!, len);
}

/** A DC difference: its category's code, then the category's extra bits. */
function putDcDiff(bits: BitString, enc: HuffmanEncoder, diff: number): void {
  const s = category(diff);
  if (s > 11) throw new Error(`DC difference ${diff} out of range`);
  const len = enc.size[s]!;
  if (len === 0) throw new Error(`Huffman table has no code for DC category ${s}`);
  bits.put(enc.code[s]!, len);
  if (s) bits.put(extraBits(diff, s), s);
}

/** The AC part of a block (zig-zag 1..63): zero runs, ZRL for runs of 16, EOB after the last non-zero. */
function putAc(bits: BitString, enc: HuffmanEncoder, q: Int32Array): void {
  let run = 0;
  for (let k = 1; k < 64; k++) {
    const v = q[k]!;
    if (v === 0) {
      run++;
      continue;
    }
    for (; run > 15; run -= 16) putSymbol(bits, enc, 0xf0);
    const s = category(v);
    putSymbol(bits, enc, (run << 4) | s);
    bits.put(extraBits(v, s), s);
    run = 0;
  }
  if (run > 0) putSymbol(bits, enc, 0x00);
}

/**
 * Encodes a band whose luma is `plane` (stride `stride`, 32 rows, at least mcusX·16 wide)
 * with the given scan components, MCU by MCU in coding order; returns the entropy-coded
 * bytes, stuffed and 1-padded, as they follow RST0.
 */
export function encodeBand(plane: Uint8Array, stride: number, mcusX: number, comps: BandComponent[]): Uint8Array {
  const preds = new Int32Array(comps.length);
  const zero = new Int32Array(64);
  const bits = new BitString();
  for (let my = 0; my < 2; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      comps.forEach((c, ci) => {
        for (let by = 0; by < c.v; by++) {
          for (let bx = 0; bx < c.h; bx++) {
            const q = c.luma ? quantise(forwardDct(plane, stride, mx * 16 + bx * 8, my * 16 + by * 8), c.quant) : zero;
            putDcDiff(bits, c.dc, q[0]! - preds[ci]!);
            preds[ci] = q[0]!;
            putAc(bits, c.ac, q);
          }
        }
      });
    }
  }
  return bits.stuffed();
}
