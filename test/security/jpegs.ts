/**
 * JPEGs for the security tests: a tiny hand-built baseline JPEG whose header fields can be
 * set to anything (the reproduced hostile frames), a map of a JPEG's header segments, and
 * mutations that overwrite header fields of a real JPEG.
 */
import { mutate, type Rng } from './fuzz.ts';

/** What tinyJpeg writes into its headers; nothing is checked, that is the point. */
export interface TinyJpegOptions {
  width: number;
  height: number;
  /** Components as (id, sampling); default one grey component sampled 1×1. */
  comps?: { id: number; h: number; v: number }[];
  /** Restart interval in MCUs (a DRI segment and RSTn markers), default none. */
  restart?: number;
  /** Bytes of entropy-coded data; default exactly what the picture needs. */
  dataBytes?: number;
}

const segment = (marker: number, payload: number[]) => [0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];

/**
 * A baseline JPEG of flat mid-grey, with one-code Huffman tables: every block is the DC code
 * `0` (difference 0) and the AC code `0` (EOB), two bits. Single component, non-interleaved,
 * unless `comps` says otherwise (the data is then sized for the first component only).
 */
export function tinyJpeg(o: TinyJpegOptions): Buffer {
  const comps = o.comps ?? [{ id: 1, h: 1, v: 1 }];
  const head = [0xff, 0xd8];
  head.push(...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]));
  head.push(...segment(0xc0, [8, o.height >> 8, o.height & 0xff, o.width >> 8, o.width & 0xff, comps.length, ...comps.flatMap((c) => [c.id, (c.h << 4) | c.v, 0])]));
  const oneCode = (tcth: number, symbol: number) => segment(0xc4, [tcth, 1, ...new Array<number>(15).fill(0), symbol]);
  head.push(...oneCode(0x00, 0x00), ...oneCode(0x10, 0x00));
  if (o.restart) head.push(...segment(0xdd, [o.restart >> 8, o.restart & 0xff]));
  head.push(...segment(0xda, [comps.length, ...comps.flatMap((c) => [c.id, 0x00]), 0, 63, 0]));
  const blocks = Math.ceil(o.width / 8) * Math.ceil(o.height / 8);
  let data: number[];
  if (o.dataBytes !== undefined) data = new Array<number>(o.dataBytes).fill(0);
  else if (o.restart) {
    // Each interval byte-aligned and padded with 1s, then RST0..7 in turn.
    data = [];
    for (let m = 0, r = 0; m < blocks; m += o.restart, r++) {
      const bits = 2 * Math.min(o.restart, blocks - m);
      const bytes = Math.ceil(bits / 8);
      for (let i = 0; i < bytes; i++) data.push(i === bytes - 1 ? 0xff >> (bits - 8 * i) : 0);
      if (m + o.restart < blocks) data.push(0xff, 0xd0 + (r % 8));
    }
  } else {
    const bits = 2 * blocks;
    const bytes = Math.ceil(bits / 8);
    data = Array.from({ length: bytes }, (_, i) => (i === bytes - 1 ? 0xff >> (bits - 8 * i) : 0));
  }
  return Buffer.from([...head, ...data, 0xff, 0xd9]);
}

/** A header segment: its marker, where the marker is, and where its payload starts and ends. */
export interface Segment {
  marker: number;
  at: number;
  payload: number;
  end: number;
}

/** The segments of a well-formed JPEG from SOI up to and including SOS. */
export function segments(d: Uint8Array): Segment[] {
  const out: Segment[] = [];
  for (let p = 2; p + 4 <= d.length; ) {
    const marker = d[p + 1]!;
    const end = p + 2 + ((d[p + 2]! << 8) | d[p + 3]!);
    out.push({ marker, at: p, payload: p + 4, end });
    if (marker === 0xda) break;
    p = end;
  }
  return out;
}

const SIDES = [0, 1, 7, 8, 16, 8191, 8192, 8193, 16384, 65535];

/**
 * Overwrites one header field of a JPEG (any bytes: it may find no field) with a hostile value: a dimension, a
 * component's sampling factors or table, the component count, the precision, a DQT/DHT
 * table id, a Huffman count, a scan selector, or a segment length. Returns the JPEG and
 * what was changed.
 */
export function overwriteHeaderField(r: Rng, d: Uint8Array): { jpeg: Uint8Array; what: string } {
  const segs = segments(d);
  const of = (m: number) => segs.filter((s) => s.marker === m);
  const sof = of(0xc0)[0];
  const fields: (() => { jpeg: Uint8Array; what: string } | undefined)[] = [
    () => {
      if (!sof) return;
      const [w, h] = [r.chance(0.7) ? r.pick(SIDES) : r.int(65536), r.chance(0.7) ? r.pick(SIDES) : r.int(65536)];
      return { jpeg: mutate.overwrite(d, sof.payload + 1, [h >> 8, h & 0xff, w >> 8, w & 0xff]), what: `size ${w}x${h}` };
    },
    () => {
      if (!sof) return;
      const n = d[sof.payload + 5]!;
      const i = r.int(Math.max(1, n));
      const hv = r.chance(0.5) ? (r.int(16) << 4) | r.int(16) : r.pick([0x00, 0x01, 0x10, 0x22, 0x44, 0x55, 0xff]);
      return { jpeg: mutate.overwrite(d, sof.payload + 6 + 3 * i + 1, [hv]), what: `component ${i} sampling 0x${hv.toString(16)}` };
    },
    () => {
      if (!sof) return;
      const i = r.int(Math.max(1, d[sof.payload + 5]!));
      const v = r.pick([0, 3, 4, 15, 255]);
      return { jpeg: mutate.overwrite(d, sof.payload + 6 + 3 * i + (r.chance(0.5) ? 0 : 2), [v]), what: `component ${i} id/table ${v}` };
    },
    () => sof && { jpeg: mutate.overwrite(d, sof.payload + 5, [r.pick([0, 1, 2, 4, 5, 255])]), what: 'component count' },
    () => sof && { jpeg: mutate.overwrite(d, sof.payload, [r.pick([0, 1, 12, 16, 255])]), what: 'precision' },
    () => {
      const s = r.pick(of(0xdb));
      return s && { jpeg: mutate.overwrite(d, s.payload, [r.int(256)]), what: 'DQT Pq/Tq' };
    },
    () => {
      const s = r.pick(of(0xc4));
      return s && { jpeg: mutate.overwrite(d, s.payload, [r.int(256)]), what: 'DHT Tc/Th' };
    },
    () => {
      const s = r.pick(of(0xc4));
      return s && { jpeg: mutate.overwrite(d, s.payload + 1 + r.int(16), [r.pick([0, 1, 2, 16, 255])]), what: 'DHT count' };
    },
    () => {
      const s = r.pick(of(0xda));
      return s && { jpeg: mutate.overwrite(d, s.payload + r.int(Math.max(1, s.end - s.payload)), [r.int(256)]), what: 'SOS byte' };
    },
    () => {
      const s = segs.length > 0 ? r.pick(segs) : undefined;
      if (!s) return;
      const len = r.chance(0.5) ? r.int(65536) : Math.max(0, s.end - s.at - 2 + r.range(-3, 3));
      return { jpeg: mutate.overwrite(d, s.at + 2, [len >> 8, len & 0xff]), what: `length of segment 0x${s.marker.toString(16)} = ${len}` };
    },
    () => {
      // A DRI segment before SOS: restart intervals the data does not have.
      const sos = of(0xda)[0];
      if (!sos) return;
      const ri = r.pick([0, 1, 2, r.int(65536)]);
      const out = new Uint8Array(d.length + 6);
      out.set(d.subarray(0, sos.at));
      out.set([0xff, 0xdd, 0, 4, ri >> 8, ri & 0xff], sos.at);
      out.set(d.subarray(sos.at), sos.at + 6);
      return { jpeg: out, what: `DRI ${ri}` };
    },
  ];
  for (let i = 0; i < 32; i++) {
    const r2 = r.pick(fields)();
    if (r2) return r2;
  }
  return { jpeg: d, what: 'no header field to overwrite' };
}
