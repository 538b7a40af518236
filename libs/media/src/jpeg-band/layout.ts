/**
 * Checks that a JPEG is a frame the band splicer can extend: baseline sequential Huffman,
 * 8-bit, 4:2:0 YCbCr, one interleaved scan, no restart markers, height a multiple of 16.
 * Anything else is refused with a message naming what is wrong, because a spliced band that
 * a decoder misreads would silently corrupt the frame.
 */
import { BAND_HEIGHT } from '../band.ts';
import { readHeaders, type FrameComponent } from '../jpeg/headers.ts';
import type { HuffmanSpec } from '../jpeg/huffman.ts';

export interface ScanComponent {
  comp: FrameComponent;
  dc: HuffmanSpec;
  ac: HuffmanSpec;
  /** Quantisation values in zig-zag order, as DQT stores them. */
  quant: Uint16Array;
}

export interface JpegLayout {
  width: number;
  height: number;
  /** Offset of the SOF0 segment's height field (2 bytes, big-endian). */
  heightOffset: number;
  /** Components in scan order (the order of blocks within an MCU). */
  scan: ScanComponent[];
  /** Offset of the SOS marker (FF DA). */
  sosOffset: number;
  /** First byte of the entropy-coded data (just past the SOS segment). */
  scanStart: number;
  /**
   * Everything the encode tables depend on (DQT and DHT payloads, component sampling and
   * table selectors), as a string: equal keys can share cached tables and bands.
   */
  tablesKey: string;
}

function fail(why: string): never {
  throw new Error(`cannot splice a band: ${why}`);
}

/** Parses up to the start of the (only) scan. Throws `cannot splice a band: …` on anything unsupported. */
export function readLayout(d: Uint8Array): JpegLayout {
  const h = readHeaders(d, fail);
  if (h.sof !== 0xc0) fail('extended sequential JPEG (SOF1); only baseline sequential (SOF0) is supported');
  const sampling = h.comps.map((c) => `${c.h}x${c.v}`).join(',');
  const n = h.comps.length;
  if (sampling !== '2x2,1x1,1x1') fail(`not 4:2:0 YCbCr (${n} component${n === 1 ? '' : 's'} sampled ${sampling}; expected 2x2,1x1,1x1)`);
  // The band must start on an MCU row boundary: a partial last MCU row would leave the
  // encoder's padding rows between the picture and the band once the height grows.
  if (h.height % 16 !== 0) fail(`height ${h.height} is not a multiple of 16`);
  if (h.height + BAND_HEIGHT > 0xffff) fail(`height ${h.height} leaves no room for the band`);
  // The band's restart marker must be the only one: the frame's scan is copied as one interval.
  if (h.restartInterval !== 0) fail(`restart interval present (DRI ${h.restartInterval}); frames with restart markers are not supported`);
  if (h.scan.length !== n) fail(`scan has ${h.scan.length} of ${n} components (only one interleaved scan is supported)`);
  const scan = h.scan.map(({ comp, dc, ac, acTable }): ScanComponent => {
    const quant = h.quant[comp.tq] ?? fail(`missing quantisation table ${comp.tq} (component ${comp.id})`);
    if (quant.includes(0)) fail(`quantisation table ${comp.tq} has a zero entry`);
    // The band's encoder and a decoder must agree on every symbol: size 0 means EOB or ZRL only.
    for (const s of ac.symbols) {
      if ((s & 15) === 0 && s !== 0x00 && s !== 0xf0) fail(`AC Huffman table ${acTable} has symbol 0x${s.toString(16)}, which baseline does not define`);
    }
    return { comp, dc, ac, quant };
  });
  const latin1 = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  const key = h.segments
    .filter((s) => s.marker === 0xdb || s.marker === 0xc4 || s.marker === 0xc0 || s.marker === 0xda)
    // The frame header without its size: frames of any size share their tables.
    .map((s) => latin1.toString('latin1', s.marker === 0xc0 ? s.at + 9 : s.at + 1, s.end));
  return { width: h.width, height: h.height, heightOffset: h.heightOffset, scan, sosOffset: h.sosOffset, scanStart: h.scanStart, tablesKey: key.join('|') };
}
