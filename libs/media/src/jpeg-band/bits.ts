/**
 * Bit strings for the band: built once per label (BitString), then copied into each spliced
 * frame at whatever bit offset the frame's scan ended (StuffingWriter), with the byte
 * stuffing that entropy-coded data needs (every FF byte is followed by 00).
 */

/** A finished bit string: `nbits` bits, most significant first, the last byte zero-padded. */
export interface Piece {
  bytes: Uint8Array;
  nbits: number;
}

/** Accumulates bits (unstuffed: stuffing depends on where the string lands in a frame). */
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

  finish(): Piece {
    const bytes = this.n > 0 ? [...this.bytes, (this.acc << (8 - this.n)) & 0xff] : this.bytes;
    return { bytes: Uint8Array.from(bytes), nbits: this.bytes.length * 8 + this.n };
  }
}

/**
 * Writes bits into `out` from `offset`, stuffing a 00 after every FF byte. It can start
 * mid-byte: `acc`/`n` are bits already there (the frame's last, partly used byte), so the
 * byte they complete is stuffed too if it comes out FF: the join is stuffed correctly.
 */
export class StuffingWriter {
  private acc: number;
  private n: number;

  constructor(
    private readonly out: Uint8Array,
    public offset: number,
    acc = 0,
    n = 0,
  ) {
    this.acc = acc;
    this.n = n;
  }

  /** Appends the low `len` bits of `value` (len ≤ 24). */
  put(value: number, len: number): void {
    let acc = (this.acc << len) | (value & ((1 << len) - 1));
    let n = this.n + len;
    while (n >= 8) {
      n -= 8;
      this.emit((acc >>> n) & 0xff);
    }
    this.acc = acc & ((1 << n) - 1);
    this.n = n;
  }

  /** Appends a piece; whole bytes go through a loop where the bit offset stays fixed. */
  putPiece(p: Piece): void {
    const whole = p.nbits >> 3;
    const bytes = p.bytes;
    const n = this.n;
    const out = this.out;
    let acc = this.acc;
    let o = this.offset;
    for (let i = 0; i < whole; i++) {
      acc = (acc << 8) | bytes[i]!;
      const byte = (acc >>> n) & 0xff;
      out[o++] = byte;
      if (byte === 0xff) out[o++] = 0x00;
      acc &= (1 << n) - 1;
    }
    this.acc = acc;
    this.offset = o;
    const rest = p.nbits & 7;
    if (rest) this.put(bytes[whole]! >> (8 - rest), rest);
  }

  /** Pads the last byte with 1-bits (as T.81 F.1.2.3 asks) and returns the end offset. */
  flush(): number {
    if (this.n > 0) this.put(0xff, 8 - this.n);
    return this.offset;
  }

  private emit(byte: number): void {
    this.out[this.offset++] = byte;
    if (byte === 0xff) this.out[this.offset++] = 0x00;
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
