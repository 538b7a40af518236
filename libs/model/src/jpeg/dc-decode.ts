/**
 * DC-only decoding of baseline JPEG: the luma DC coefficient of each 8×8 block is that
 * block's mean brightness, so the DC image is the frame's luma at 1/8 scale. Getting it
 * needs the entropy decode (to walk past the AC coefficients) but no IDCT, no chroma and
 * no colour conversion — a fraction of a full decode, which is what makes per-frame
 * analytics affordable at hundreds of frames a second.
 */

interface Huffman {
  /** 9-bit lookahead: (length << 8) | symbol, 0 when the code is longer than 9 bits. */
  lut: Uint16Array;
  maxCode: Int32Array; // per length 1..16, -1 when none
  valPtr: Int32Array;
  minCode: Int32Array;
  symbols: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  dc?: Huffman;
  ac?: Huffman;
  pred: number;
}

/** A frame's luma at 1/8 scale: `data[y * width + x]` is block (x, y)'s mean, 0..255. */
export interface DcImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** The JPEG's own size in pixels. */
  imageWidth: number;
  imageHeight: number;
}

const LOOKAHEAD = 9;

function buildHuffman(counts: Uint8Array, symbols: Uint8Array): Huffman {
  const lut = new Uint16Array(1 << LOOKAHEAD);
  const maxCode = new Int32Array(18).fill(-1);
  const valPtr = new Int32Array(17);
  const minCode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    valPtr[len] = k;
    minCode[len] = code;
    for (let i = 0; i < counts[len - 1]!; i++, k++, code++) {
      if (len <= LOOKAHEAD) {
        const shift = LOOKAHEAD - len;
        for (let j = 0; j < 1 << shift; j++) lut[(code << shift) | j] = (len << 8) | symbols[k]!;
      }
    }
    maxCode[len] = counts[len - 1]! > 0 ? code - 1 : -1;
    code <<= 1;
  }
  return { lut, maxCode, valPtr, minCode, symbols };
}

/** Decodes the luma DC image of a baseline (sequential, Huffman) JPEG; throws on anything else. */
export function decodeDcImage(jpeg: Uint8Array): DcImage {
  const d = jpeg;
  if (d[0] !== 0xff || d[1] !== 0xd8) throw new Error('not a JPEG (no SOI)');
  const qt: Int32Array[] = [];
  const dcTables: Huffman[] = [];
  const acTables: Huffman[] = [];
  let comps: Component[] = [];
  let width = 0;
  let height = 0;
  let restartInterval = 0;
  let p = 2;
  while (p + 4 <= d.length) {
    if (d[p] !== 0xff) throw new Error(`expected a marker at byte ${p}`);
    const marker = d[p + 1]!;
    if (marker === 0xff) {
      p++;
      continue;
    }
    const len = (d[p + 2]! << 8) | d[p + 3]!;
    const seg = p + 4;
    const end = p + 2 + len;
    if (marker === 0xdb) {
      for (let q = seg; q < end; ) {
        const pq = d[q]! >> 4;
        const tq = d[q]! & 15;
        const t = new Int32Array(64);
        for (let i = 0; i < 64; i++) t[i] = pq ? (d[q + 1 + 2 * i]! << 8) | d[q + 2 + 2 * i]! : d[q + 1 + i]!;
        qt[tq] = t;
        q += 1 + (pq ? 128 : 64);
      }
    } else if (marker === 0xc4) {
      for (let q = seg; q < end; ) {
        const tc = d[q]! >> 4;
        const th = d[q]! & 15;
        const counts = d.subarray(q + 1, q + 17);
        const total = counts.reduce((s, c) => s + c, 0);
        const table = buildHuffman(counts, d.subarray(q + 17, q + 17 + total));
        (tc === 0 ? dcTables : acTables)[th] = table;
        q += 17 + total;
      }
    } else if (marker === 0xc0 || marker === 0xc1) {
      height = (d[seg + 1]! << 8) | d[seg + 2]!;
      width = (d[seg + 3]! << 8) | d[seg + 4]!;
      const n = d[seg + 5]!;
      comps = [];
      for (let i = 0; i < n; i++) {
        const o = seg + 6 + i * 3;
        comps.push({ id: d[o]!, h: d[o + 1]! >> 4, v: d[o + 1]! & 15, tq: d[o + 2]!, pred: 0 });
      }
    } else if (marker >= 0xc2 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      throw new Error('only baseline JPEG is supported');
    } else if (marker === 0xdd) {
      restartInterval = (d[seg]! << 8) | d[seg + 1]!;
    } else if (marker === 0xda) {
      const ns = d[seg]!;
      const scan: Component[] = [];
      for (let i = 0; i < ns; i++) {
        const c = comps.find((x) => x.id === d[seg + 1 + i * 2]);
        if (!c) throw new Error('scan names an unknown component');
        const sel = d[seg + 2 + i * 2]!;
        c.dc = dcTables[sel >> 4];
        c.ac = acTables[sel & 15];
        if (!c.dc || !c.ac) throw new Error('scan uses an undefined Huffman table');
        scan.push(c);
      }
      return decodeScan(d, end, scan, comps, width, height, restartInterval, qt);
    }
    p = end;
  }
  throw new Error('no scan found');
}

function decodeScan(d: Uint8Array, start: number, scan: Component[], comps: Component[], width: number, height: number, ri: number, qt: Int32Array[]): DcImage {
  if (width === 0 || height === 0) throw new Error('no frame header before the scan');
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  const luma = comps[0]!;
  const q0 = qt[luma.tq]?.[0];
  if (q0 === undefined) throw new Error('luma quantisation table missing');
  const bw = Math.ceil(Math.ceil((width * luma.h) / hmax) / 8);
  const bh = Math.ceil(Math.ceil((height * luma.v) / vmax) / 8);
  const out = new Uint8Array(bw * bh);
  const single = scan.length === 1;
  const mcusX = single ? bw : Math.ceil(width / (8 * hmax));
  const mcusY = single ? bh : Math.ceil(height / (8 * vmax));
  // Blocks of one MCU, flattened: component index per block, and the luma block offsets.
  const blockComp: number[] = [];
  const blockDx: number[] = [];
  const blockDy: number[] = [];
  scan.forEach((c, ci) => {
    const nv = single ? 1 : c.v;
    const nh = single ? 1 : c.h;
    for (let v = 0; v < nv; v++) for (let h = 0; h < nh; h++) (blockComp.push(ci), blockDx.push(h), blockDy.push(v));
  });
  const lumaIndex = scan.indexOf(luma);
  const preds = new Int32Array(scan.length);
  const dcT = scan.map((c) => c.dc!);
  const acT = scan.map((c) => c.ac!);
  const lw = single ? 1 : luma.h;
  const lh = single ? 1 : luma.v;
  // The bit reader is inlined here (locals, no calls on the hot path): this loop is the cost.
  let pos = start;
  let buf = 0;
  let cnt = 0;
  let marker = false;
  const n = d.length;
  const fill = () => {
    while (cnt <= 23) {
      let b = 0;
      if (!marker && pos < n) {
        b = d[pos]!;
        if (b === 0xff) {
          if (d[pos + 1] === 0) pos += 2;
          else {
            marker = true;
            b = 0;
          }
        } else pos++;
      }
      buf = ((buf << 8) | b) >>> 0;
      cnt += 8;
    }
  };
  const slow = (h: Huffman): number => {
    let code = 0;
    for (let len = 1; len <= 16; len++) {
      if (cnt < 1) fill();
      cnt--;
      code = (code << 1) | ((buf >>> cnt) & 1);
      if (len > LOOKAHEAD && code <= h.maxCode[len]!) return h.symbols[h.valPtr[len]! + code - h.minCode[len]!]!;
    }
    throw new Error('bad Huffman code');
  };
  let mcu = 0;
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++, mcu++) {
      if (ri > 0 && mcu > 0 && mcu % ri === 0) {
        while (pos + 1 < n && !(d[pos] === 0xff && d[pos + 1]! >= 0xd0 && d[pos + 1]! <= 0xd7)) pos++;
        pos += 2;
        buf = 0;
        cnt = 0;
        marker = false;
        preds.fill(0);
      }
      for (let b = 0; b < blockComp.length; b++) {
        const ci = blockComp[b]!;
        // DC
        let h = dcT[ci]!;
        if (cnt < 16) fill();
        let e = h.lut[(buf >>> (cnt - LOOKAHEAD)) & 511]!;
        let s: number;
        if (e !== 0) {
          cnt -= e >> 8;
          s = e & 0xff;
        } else s = slow(h);
        if (s !== 0) {
          if (cnt < s) fill();
          cnt -= s;
          const v = (buf >>> cnt) & ((1 << s) - 1);
          preds[ci]! += v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
        }
        // AC: only skipped, so a code and its extra bits are consumed together.
        h = acT[ci]!;
        for (let k = 1; k < 64; ) {
          if (cnt < 16) fill();
          e = h.lut[(buf >>> (cnt - LOOKAHEAD)) & 511]!;
          let rs: number;
          if (e !== 0) {
            cnt -= e >> 8;
            rs = e & 0xff;
          } else rs = slow(h);
          const sz = rs & 15;
          if (sz === 0) {
            if (rs !== 0xf0) break;
            k += 16;
            continue;
          }
          if (cnt < sz) fill();
          cnt -= sz;
          k += (rs >> 4) + 1;
        }
        buf &= cnt >= 32 ? 0xffffffff : (1 << cnt) - 1;
        if (ci === lumaIndex) {
          const x = single ? mx : mx * lw + blockDx[b]!;
          const y = single ? my : my * lh + blockDy[b]!;
          if (x < bw && y < bh) {
            const val = (preds[ci]! * q0) / 8 + 128;
            out[y * bw + x] = val < 0 ? 0 : val > 255 ? 255 : val;
          }
        }
      }
    }
  }
  return { width: bw, height: bh, data: out, imageWidth: width, imageHeight: height };
}
