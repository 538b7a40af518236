/**
 * Bit strings for the band's entropy-coded data: bits appended most significant first, then
 * written out with the byte stuffing that entropy-coded data needs (every FF byte is
 * followed by 00) and the last byte padded with 1-bits (T.81 F.1.2.3).
 */

/** Accumulates bits, most significant first. */
export class BitString {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;

  /** Appends the low `len` bits of `value` (len ≤ 24). */
  put(value: number, len: number): void {
    this.acc = (this.acc << len) | (value & ((1 << len) - 1));
    this.n += len;
    while (this.n >= 8) {
      this.n -= 8;
      this.bytes.push((this.acc >>> this.n) & 0xff);
    }
    this.acc &= (1 << this.n) - 1;
  }

  /** The bits as stored in a scan: a partial last byte padded with 1-bits, a 00 after every FF. */
  stuffed(): Uint8Array {
    const bytes = this.n > 0 ? [...this.bytes, ((this.acc << (8 - this.n)) | (0xff >> this.n)) & 0xff] : this.bytes;
    const out: number[] = [];
    for (const b of bytes) b === 0xff ? out.push(0xff, 0x00) : out.push(b);
    return Uint8Array.from(out);
  }
}

/** Bits in `v`'s magnitude category (T.81 F.1.2.1): 0 for 0, 1 for ±1, 2 for ±2..3, … */
export function category(v: number): number {
  let a = v < 0 ? -v : v;
  let s = 0;
  while (a > 0) (s++, (a >>= 1));
  return s;
}

/** The extra bits that follow a category: v itself if positive, else v - 1 in `s` bits (ones' complement). */
export function extraBits(v: number, s: number): number {
  return (v < 0 ? v - 1 : v) & ((1 << s) - 1);
}
