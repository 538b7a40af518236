/**
 * Walks a frame's entropy-coded scan to where its last MCU ends, at bit precision, and to
 * the DC value each component ends on. The band is appended right there: its first DC
 * differences continue from those values, and its first bit follows the frame's last one
 * (the frame's final byte is padded with 1-bits, which would otherwise be read as data).
 *
 * Nothing is dequantised or transformed: AC coefficients are only skipped (a code and its
 * extra bits in one step), and DC values are summed. This is the per-frame cost of a
 * splice in the (default) 'continue' join; the 'restart' join only needs findScanBytesEnd.
 */
import { EOB_ADVANCE, LOOKAHEAD, acAdvance, decodeLong, type HuffmanDecoder } from './huffman.ts';

/** Per-scan tables, built once per distinct set of frame tables. */
export interface ScanDecoder {
  /** Decoders per scan component. */
  dc: HuffmanDecoder[];
  ac: HuffmanDecoder[];
  /** Scan component index of each block of an MCU, in coding order (4:2:0: Y Y Y Y Cb Cr). */
  blocks: Uint8Array;
}

export interface ScanEnd {
  /** The scan's whole bytes are d[scanStart .. cut) (byte-stuffed, as stored). */
  cut: number;
  /** How many leading bits (0..7) of the byte at `cut` still belong to the scan, and that byte. */
  bits: number;
  partial: number;
  /** The last DC value (the predictor) of each scan component. */
  preds: Int32Array;
}

const LUT_MASK = (1 << LOOKAHEAD) - 1;

/**
 * Bit-reader state for the rare refill outside the hot loop (after a code longer than the
 * lookahead): buf, cnt, pos, fed, zeros, limit. The hot loop keeps the same state in locals.
 */
const state = new Int32Array(6);

/**
 * Puts bytes into the bit buffer until it holds 25..32 bits. Data bytes are unstuffed
 * (FF 00 → FF, counted in `fed`); from a marker on (or the end of the buffer: `limit`) zero
 * bytes are fed instead, counted in `zeros`, so that a scan cut short is noticed at the end.
 * The hot loop in findScanEnd inlines this same code.
 */
function refill(d: Uint8Array, s: Int32Array): void {
  let buf = s[0]!;
  let cnt = s[1]!;
  let pos = s[2]!;
  let fed = s[3]!;
  let zeros = s[4]!;
  let limit = s[5]!;
  while (cnt <= 24) {
    let byte = 0;
    if (pos < limit) {
      byte = d[pos]!;
      if (byte !== 0xff) (pos++, fed++);
      else if (d[pos + 1] === 0x00) ((pos += 2), fed++);
      else ((limit = pos), (byte = 0), zeros++);
    } else zeros++;
    buf = (buf << 8) | byte;
    cnt += 8;
  }
  s[0] = buf;
  s[1] = cnt;
  s[2] = pos;
  s[3] = fed;
  s[4] = zeros;
  s[5] = limit;
}

/**
 * Decodes `mcus` MCUs starting at d[start]. Throws if the data is corrupt or runs out
 * before the last MCU (a marker, or the end of the buffer, comes first): up front when the
 * data cannot hold even the shortest codes of that many MCUs, else at the first MCU that
 * reads past it, so a header's claim never buys more work than the data pays for.
 *
 * This loop is the whole per-frame cost of a splice, hence its shape: the reader's state
 * lives in locals (a refill closure would move it to a heap context), the refill is
 * written out at both sites, and the rare long codes leave through `state`.
 */
export function findScanEnd(d: Uint8Array, start: number, mcus: number, t: ScanDecoder): ScanEnd {
  const preds = new Int32Array(t.dc.length);
  const blocks = t.blocks;
  const nb = blocks.length;
  const dcs = t.dc;
  const acs = t.ac;
  // The low `cnt` bits of `buf` are unread, most significant first (see refill()).
  let buf = 0;
  let cnt = 0;
  let pos = start;
  let fed = 0;
  let zeros = 0;
  let limit = d.length;
  // Every block costs at least one DC code and one AC code (EOB at the least).
  let minBits = 0;
  for (const ci of blocks) minBits += dcs[ci]!.minLen + acs[ci]!.minLen;
  const need = Math.ceil((mcus * minBits) / 8);
  if (d.length - start < need) throw new Error(`cannot splice a band: ${d.length - start} bytes of scan data cannot hold ${mcus} MCUs (at least ${need} bytes)`);
  for (let m = 0; m < mcus; m++) {
    for (let b = 0; b < nb; b++) {
      const ci = blocks[b]!;
      // DC: a category code, then that many bits of difference (at most 10 + 11 bits when
      // the code fits the lookahead, so refilling below 21 is enough).
      if (cnt < 21) {
        while (cnt <= 24) {
          let byte = 0;
          if (pos < limit) {
            byte = d[pos]!;
            if (byte !== 0xff) (pos++, fed++);
            else if (d[pos + 1] === 0x00) ((pos += 2), fed++);
            else ((limit = pos), (byte = 0), zeros++);
          } else zeros++;
          buf = (buf << 8) | byte;
          cnt += 8;
        }
      }
      const dc = dcs[ci]!;
      let e = dc.lut[(buf >>> (cnt - LOOKAHEAD)) & LUT_MASK]!;
      let s: number;
      if (e !== 0) {
        cnt -= e & 31;
        s = e >> 5;
      } else {
        const r = decodeLong(dc, (buf >>> (cnt - 16)) & 0xffff);
        cnt -= r >> 8;
        s = r & 0xff;
        if (cnt < s) {
          (state[0] = buf), (state[1] = cnt), (state[2] = pos), (state[3] = fed), (state[4] = zeros), (state[5] = limit);
          refill(d, state);
          (buf = state[0]!), (cnt = state[1]!), (pos = state[2]!), (fed = state[3]!), (zeros = state[4]!), (limit = state[5]!);
        }
      }
      if (s !== 0) {
        if (s > 11) throw new Error(`cannot splice a band: corrupt scan: DC difference category ${s} in MCU ${m}`);
        cnt -= s;
        const v = (buf >>> cnt) & ((1 << s) - 1);
        // F.2.2.1 EXTEND: a leading 0 bit means a negative difference.
        preds[ci]! += v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
      }
      // AC: only skipped. A lookahead entry gives the code's length plus its extra bits
      // (at most 10 + 10) and the zig-zag advance; an EOB advances past 64.
      const ac = acs[ci]!;
      const lut = ac.lut;
      let k = 1;
      while (k < 64) {
        if (cnt < 21) {
          while (cnt <= 24) {
            let byte = 0;
            if (pos < limit) {
              byte = d[pos]!;
              if (byte !== 0xff) (pos++, fed++);
              else if (d[pos + 1] === 0x00) ((pos += 2), fed++);
              else ((limit = pos), (byte = 0), zeros++);
            } else zeros++;
            buf = (buf << 8) | byte;
            cnt += 8;
          }
        }
        e = lut[(buf >>> (cnt - LOOKAHEAD)) & LUT_MASK]!;
        if (e !== 0) {
          cnt -= e & 31;
          k += e >> 5;
        } else {
          // A code longer than the lookahead (≤ 16 bits): its extra bits may not all be in
          // the buffer yet, so take the code, refill if needed, then the extra bits.
          const r = decodeLong(ac, (buf >>> (cnt - 16)) & 0xffff);
          cnt -= r >> 8;
          const sym = r & 0xff;
          k += acAdvance(sym);
          if (cnt < (sym & 15)) {
            (state[0] = buf), (state[1] = cnt), (state[2] = pos), (state[3] = fed), (state[4] = zeros), (state[5] = limit);
            refill(d, state);
            (buf = state[0]!), (cnt = state[1]!), (pos = state[2]!), (fed = state[3]!), (zeros = state[4]!), (limit = state[5]!);
          }
          cnt -= sym & 15;
        }
      }
      // An EOB leaves k at EOB_ADVANCE or more; a run past coefficient 63 without one is corrupt.
      if (k > 64 && k < EOB_ADVANCE) throw new Error(`cannot splice a band: corrupt scan: AC run past the end of a block in MCU ${m}`);
    }
    // The zeros fed past the data sit at the bottom of `buf`: reading any leaves cnt below 8·zeros.
    if (cnt < zeros * 8) throw new Error(`cannot splice a band: corrupt scan: entropy-coded data ends before MCU ${m} of ${mcus}`);
  }
  return locateEnd(d, start, pos, fed, (fed + zeros) * 8 - cnt, preds);
}

/**
 * Maps the bit count consumed (in unstuffed data) back to a position in the stored bytes:
 * walk back from the reader's position over the bytes it fed but did not use. Walking back
 * is unambiguous because in entropy-coded data every FF is followed by its stuffed 00.
 */
function locateEnd(d: Uint8Array, start: number, pos: number, fed: number, consumed: number, preds: Int32Array): ScanEnd {
  const whole = consumed >> 3;
  for (let unused = fed - whole; unused > 0; unused--) {
    pos -= pos - 2 >= start && d[pos - 1] === 0x00 && d[pos - 2] === 0xff ? 2 : 1;
  }
  const bits = consumed & 7;
  return { cut: pos, bits, partial: bits ? d[pos]! : 0, preds };
}

/**
 * Where the scan's bytes end, for restart mode, which needs no bit position: the EOI marker
 * that ends the file (less any FF fill bytes before it). Also checks that no other marker
 * sits in the scan (a restart marker, a second scan), with a memchr-speed search for FF.
 */
export function findScanBytesEnd(d: Uint8Array, start: number): number {
  const n = d.length;
  if (n < start + 2 || d[n - 2] !== 0xff || d[n - 1] !== 0xd9) throw new Error('cannot splice a band: the JPEG does not end with an EOI marker');
  let eoi = n - 2;
  // In entropy-coded data an FF is always followed by 00, so FFs right before EOI are fill.
  while (eoi > start && d[eoi - 1] === 0xff) eoi--;
  const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  for (let q = b.indexOf(0xff, start); q >= 0 && q < eoi; q = b.indexOf(0xff, q + 2)) {
    if (d[q + 1] !== 0x00) throw new Error(`cannot splice a band: marker 0x${d[q + 1]!.toString(16)} inside the scan at byte ${q}`);
  }
  return eoi;
}
