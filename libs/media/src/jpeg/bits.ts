/**
 * Entropy-coded data as bits, most significant first: the DC decoder's reader and the band
 * encoder's writer. In the data every FF byte is followed by a stuffed 00 (T.81 F.1.2.3),
 * which the reader drops and the writer adds; the writer pads the last byte with 1-bits.
 */

/**
 * Reads from d[pos] on. From a marker or the end of the data on it feeds zero bytes, counted
 * in `pad`, and never moves past them: a corrupt scan cannot make it read out of bounds, and
 * the caller tells real bits from fed ones with overrun(). The unread bits are the low `cnt`
 * bits of `buf`, open so that a decoder's hot loop can peek at them without a call.
 */
export class BitReader {
  buf = 0;
  cnt = 0;
  private pad = 0;
  private marker = false;

  constructor(
    private readonly d: Uint8Array,
    private pos: number,
  ) {}

  /** Tops `buf` up to at least 24 unread bits. */
  fill(): void {
    const d = this.d;
    while (this.cnt <= 23) {
      let b = 0;
      if (!this.marker && this.pos < d.length) {
        b = d[this.pos]!;
        if (b === 0xff) {
          if (d[this.pos + 1] === 0) this.pos += 2;
          else {
            this.marker = true;
            b = 0;
            this.pad++;
          }
        } else this.pos++;
      } else this.pad++;
      // Only the unread bits are kept: buf stays below 2^31, a small integer to V8.
      this.buf = ((this.buf & ((1 << this.cnt) - 1)) << 8) | b;
      this.cnt += 8;
    }
  }

  /** The next `n` bits (n ≤ 16). */
  bits(n: number): number {
    if (this.cnt < n) this.fill();
    this.cnt -= n;
    return (this.buf >>> this.cnt) & ((1 << n) - 1);
  }

  /** Drops the next `n` bits (n ≤ 16). */
  skip(n: number): void {
    if (this.cnt < n) this.fill();
    this.cnt -= n;
  }

  /** Whether bits fed past the data were used: they sit at the bottom of `buf`, below 8·pad. */
  overrun(): boolean {
    return this.pad > 0 && this.cnt < this.pad * 8;
  }

  /** Moves past the next RSTn marker (only ever forwards) and drops what was buffered: a restart interval ends. */
  restart(): void {
    const d = this.d;
    let pos = this.pos;
    while (pos + 1 < d.length && !(d[pos] === 0xff && d[pos + 1]! >= 0xd0 && d[pos + 1]! <= 0xd7)) pos++;
    this.pos = pos + 2;
    this.buf = 0;
    this.cnt = 0;
    this.pad = 0;
    this.marker = false;
  }
}


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
