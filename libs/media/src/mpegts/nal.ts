/**
 * What the demuxer needs from the Annex B NAL units of one access unit: whether a decoder
 * can start there, and the parameter sets it carries or lacks. Only the NAL units before
 * the first slice are walked: slice data is most of the bytes, and the first slice's type
 * already says whether the picture is IDR/IRAP (every slice of such a picture has it).
 */
import type { VideoCodec } from './types.ts';

const START = Buffer.from([0, 0, 1]);
const START4 = Buffer.from([0, 0, 0, 1]);
/** Hostile units may hold thousands of empty NAL units before a slice; past this many we stop listing them. */
const MAX_LISTED = 64;
/** Caps on the parameter sets kept between units, per type (real ones are tens to hundreds of bytes). */
const MAX_TYPE_BYTES = 64 * 1024;
const MAX_SETS_PER_TYPE = 32;

interface Syntax {
  /** NAL unit type from the header bytes at `p`, or -1 for one we must not interpret. */
  type(b: Buffer, p: number, end: number): number;
  vcl(t: number): boolean;
  key(t: number): boolean;
  aud: number;
  /** Parameter set types in the order a decoder needs them (each may refer to the one before). */
  params: readonly number[];
}

const H264: Syntax = {
  // forbidden_zero_bit set: not a NAL unit we can trust.
  type: (b, p, end) => (p < end && (b[p]! & 0x80) === 0 ? b[p]! & 0x1f : -1),
  vcl: (t) => t >= 1 && t <= 5,
  key: (t) => t === 5,
  aud: 9,
  params: [7, 8],
};

const HEVC: Syntax = {
  // Two header bytes; NAL units of layers above 0 (scalable/multiview extensions) are not ours.
  type: (b, p, end) => {
    if (p + 1 >= end) return -1;
    const b0 = b[p]!;
    const layer = ((b0 & 1) << 5) | (b[p + 1]! >> 3);
    return (b0 & 0x80) === 0 && layer === 0 ? (b0 >> 1) & 0x3f : -1;
  },
  vcl: (t) => t >= 0 && t < 32,
  key: (t) => t >= 16 && t <= 21,
  aud: 35,
  params: [32, 33, 34],
};

interface Nal {
  type: number;
  /** First header byte and end (exclusive, trailing zero bytes of a 4-byte start code removed). */
  start: number;
  end: number;
}

export interface AuInfo {
  /** Offset of the first slice's NAL header, -1 when the unit holds no coded picture. */
  vcl: number;
  key: boolean;
  /** NAL units before the first slice; `complete` is false when there were too many to list. */
  nals: Nal[];
  complete: boolean;
}

/** Index of the next 00 00 01 at or after `from`, or -1. */
const nextStart = (b: Buffer, from: number) => (from >= b.length ? -1 : b.indexOf(START, from));

export function inspect(codec: VideoCodec, es: Buffer): AuInfo {
  const syn = codec === 'h264' ? H264 : HEVC;
  const nals: Nal[] = [];
  let complete = true;
  let sc = nextStart(es, 0);
  while (sc !== -1) {
    const start = sc + 3;
    // The type before the search for the next start code: a slice's bytes are not scanned.
    const type = syn.type(es, start, es.length);
    if (syn.vcl(type)) return { vcl: start, key: syn.key(type), nals, complete };
    const next = nextStart(es, start);
    if (nals.length < MAX_LISTED) {
      let end = next === -1 ? es.length : next;
      // The last byte of a NAL unit is never 0: zeros before a start code belong to it.
      while (end > start && es[end - 1] === 0) end--;
      nals.push({ type, start, end });
    } else complete = false;
    sc = next;
  }
  return { vcl: -1, key: false, nals, complete };
}

/**
 * The latest parameter sets seen, per type: every set of that type in the last unit that
 * carried any (a stream may send several PPS with different ids together).
 */
export class ParamSets {
  private readonly syn: Syntax;
  private readonly sets = new Map<number, Buffer[]>();

  constructor(codec: VideoCodec) {
    this.syn = codec === 'h264' ? H264 : HEVC;
  }

  /**
   * The unit's Annex B bytes, with the stored parameter sets of the types a key unit lacks
   * put in front (after its access unit delimiter); then remembers the unit's own sets.
   */
  apply(es: Buffer, info: AuInfo): Buffer {
    const own = this.own(info);
    const lacks = this.syn.params.some((t) => !own.has(t) && this.sets.has(t));
    const out = info.key && lacks && info.complete ? this.rebuild(es, info, own) : es;
    this.keep(es, own);
    return out;
  }

  /** Remembers the parameter sets of a PES that holds no picture (some sources send them on their own). */
  remember(es: Buffer, info: AuInfo): void {
    this.keep(es, this.own(info));
  }

  private own(info: AuInfo): Map<number, Nal[]> {
    const own = new Map<number, Nal[]>();
    for (const n of info.nals) if (this.syn.params.includes(n.type)) own.set(n.type, [...(own.get(n.type) ?? []), n]);
    return own;
  }

  private keep(es: Buffer, own: Map<number, Nal[]>): void {
    for (const [t, list] of own) {
      const kept: Buffer[] = [];
      let bytes = 0;
      for (const n of list) {
        bytes += n.end - n.start;
        if (bytes > MAX_TYPE_BYTES || kept.length === MAX_SETS_PER_TYPE) break;
        // A copy: a view would keep the whole unit's buffer alive.
        kept.push(Buffer.from(es.subarray(n.start, n.end)));
      }
      if (kept.length > 0) this.sets.set(t, kept);
    }
  }

  /**
   * AUD, then each parameter set type in order (the unit's own, else the stored ones), then
   * the unit's other leading NAL units (SEI), then everything from the first slice on. The
   * unit's own sets move into that order so a stored PPS never precedes the SPS it needs.
   */
  private rebuild(es: Buffer, info: AuInfo, own: Map<number, Nal[]>): Buffer {
    const parts: Buffer[] = [];
    const view = (n: Nal) => es.subarray(n.start, n.end);
    const first = info.nals[0];
    const aud = first !== undefined && first.type === this.syn.aud ? first : undefined;
    if (aud) parts.push(START4, view(aud));
    for (const t of this.syn.params) {
      const sets = own.get(t)?.map(view) ?? this.sets.get(t) ?? [];
      for (const s of sets) parts.push(START4, s);
    }
    for (const n of info.nals) if (n !== aud && !this.syn.params.includes(n.type) && n.end > n.start) parts.push(START4, view(n));
    parts.push(START4, es.subarray(info.vcl));
    return Buffer.concat(parts);
  }
}
