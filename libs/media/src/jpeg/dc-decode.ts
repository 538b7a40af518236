/**
 * DC-only decoding of baseline JPEG: the luma DC coefficient of each 8×8 block is that
 * block's mean brightness, so the DC image is the frame's luma at 1/8 scale. Getting it
 * needs the entropy decode (to walk past the AC coefficients) but no IDCT, no chroma and
 * no colour conversion — a fraction of a full decode, which is what makes per-frame
 * analytics affordable at hundreds of frames a second.
 */

import { readScanLayout, type ScanLayout } from './dc-layout.ts';
import { BitReader } from './bits.ts';
import { LOOKAHEAD, type HuffmanDecoder } from './huffman.ts';

/** A frame's luma at 1/8 scale: `data[y * width + x]` is block (x, y)'s mean, 0..255. */
export interface DcImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** The JPEG's own size in pixels. */
  imageWidth: number;
  imageHeight: number;
}

/**
 * Decodes the luma DC image of a baseline (sequential, Huffman) JPEG. Throws an Error naming
 * what is wrong for anything else, for headers out of range, and for entropy-coded data that
 * is corrupt or ends before the last MCU; never loops or allocates beyond what the data can
 * hold (a 150-byte file cannot claim a 65535×65535 picture).
 */
export function decodeDcImage(jpeg: Uint8Array): DcImage {
  return decodeScan(jpeg, readScanLayout(jpeg));
}

/**
 * Walks the first scan's MCUs, summing luma DC differences. The data must at least hold every
 * block's shortest codes before anything is allocated, and the walk stops with an error as
 * soon as it reads bits past the data (a marker or the end of the buffer): the zeros fed in
 * their place would otherwise decode as blocks for as long as the header asks.
 */
function decodeScan(d: Uint8Array, layout: ScanLayout): DcImage {
  const { width, height, comps, scan, restartInterval: ri, lumaQ0: q0, start } = layout;
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  const luma = comps[0]!;
  const bw = Math.ceil(Math.ceil((width * luma.h) / hmax) / 8);
  const bh = Math.ceil(Math.ceil((height * luma.v) / vmax) / 8);
  const single = scan.length === 1;
  const mcusX = single ? bw : Math.ceil(width / (8 * hmax));
  const mcusY = single ? bh : Math.ceil(height / (8 * vmax));
  // Blocks of one MCU, flattened: component index per block, and the luma block offsets.
  const blockComp: number[] = [];
  const blockDx: number[] = [];
  const blockDy: number[] = [];
  let minBits = 0;
  scan.forEach((c, ci) => {
    const nv = single ? 1 : c.v;
    const nh = single ? 1 : c.h;
    for (let v = 0; v < nv; v++) for (let h = 0; h < nh; h++) (blockComp.push(ci), blockDx.push(h), blockDy.push(v));
    // Every block costs at least one DC code and one AC code (EOB at the least).
    minBits += nv * nh * (c.dc.minLen + c.ac.minLen);
  });
  const mcus = mcusX * mcusY;
  const need = Math.ceil((mcus * minBits) / 8);
  if (d.length - start < need) throw new Error(`bad JPEG: ${d.length - start} bytes of scan data cannot hold ${mcus} MCUs of a ${width}×${height} picture (at least ${need} bytes)`);
  const out = new Uint8Array(bw * bh);
  const lumaIndex = scan.findIndex((c) => c.id === luma.id);
  const preds = new Int32Array(scan.length);
  const dcT = scan.map((c) => c.dc);
  const acT = scan.map((c) => c.ac);
  const lw = single ? 1 : luma.h;
  const lh = single ? 1 : luma.v;
  const r = new BitReader(d, start);
  // Bits read past the data (BitReader.overrun) end the walk.
  const overrun = (mcu: number) => new Error(`bad JPEG: scan data ends before MCU ${mcu} of ${mcus}`);
  let mcu = 0;
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++, mcu++) {
      if (ri > 0 && mcu > 0 && mcu % ri === 0) {
        r.restart();
        preds.fill(0);
      }
      for (let b = 0; b < blockComp.length; b++) {
        const ci = blockComp[b]!;
        // DC. The reader's buf and cnt are read here, not through calls: this loop is the cost.
        let h = dcT[ci]!;
        if (r.cnt < 16) r.fill();
        let e = h.lut[(r.buf >>> (r.cnt - LOOKAHEAD)) & 511]!;
        let s: number;
        if (e !== 0) {
          r.cnt -= e >> 8;
          s = e & 0xff;
        } else s = slow(r, h);
        if (s !== 0) {
          const v = r.bits(s);
          preds[ci]! += v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
        }
        // AC: only skipped, so a code and its extra bits are consumed together. Every step
        // moves k on by at least 1, or ends the block.
        h = acT[ci]!;
        for (let k = 1; k < 64; ) {
          if (r.cnt < 16) r.fill();
          e = h.lut[(r.buf >>> (r.cnt - LOOKAHEAD)) & 511]!;
          let rs: number;
          if (e !== 0) {
            r.cnt -= e >> 8;
            rs = e & 0xff;
          } else rs = slow(r, h);
          const sz = rs & 15;
          if (sz === 0) {
            if (rs !== 0xf0) break;
            k += 16;
            continue;
          }
          r.skip(sz);
          k += (rs >> 4) + 1;
        }
        if (ci === lumaIndex) {
          const x = single ? mx : mx * lw + blockDx[b]!;
          const y = single ? my : my * lh + blockDy[b]!;
          if (x < bw && y < bh) {
            const val = (preds[ci]! * q0) / 8 + 128;
            out[y * bw + x] = val < 0 ? 0 : val > 255 ? 255 : val;
          }
        }
      }
      if (r.overrun()) throw overrun(mcu);
    }
  }
  return { width: bw, height: bh, data: out, imageWidth: width, imageHeight: height };
}

/** A code longer than LOOKAHEAD bits, bit by bit (T.81 F.2.2.3). */
function slow(r: BitReader, h: HuffmanDecoder): number {
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    code = (code << 1) | r.bits(1);
    if (len > LOOKAHEAD && code <= h.maxCode[len]!) return h.symbols[h.valPtr[len]! + code - h.minCode[len]!]!;
  }
  throw new Error('bad JPEG: corrupt scan: bits match no Huffman code');
}
