/**
 * What the DC decoder needs of a JPEG's headers: the shared reader (headers.ts) plus the
 * checks only a decoder of any sequential Huffman JPEG makes (sampling, MCU size, luma in
 * the first scan), and the decoding tables of the scan's Huffman tables.
 */
import { buildDecoder, type HuffmanDecoder, type HuffmanSpec } from './huffman.ts';
import { readHeaders, type FrameComponent } from './headers.ts';

/** A scan component with its decoding tables. */
export interface DecodedComponent extends FrameComponent {
  dc: HuffmanDecoder;
  ac: HuffmanDecoder;
}

/** What the DC decoder needs to walk the first scan. */
export interface ScanLayout {
  width: number;
  height: number;
  /** Frame components, the first being luma. */
  comps: FrameComponent[];
  /** Components of the first scan, in order. */
  scan: DecodedComponent[];
  restartInterval: number;
  /** DC quantiser of luma. */
  lumaQ0: number;
  /** First byte of the entropy-coded data. */
  start: number;
}

function fail(why: string): never {
  throw new Error(`bad JPEG: ${why}`);
}

/** Reads a baseline (or 8-bit extended) sequential Huffman JPEG up to its first scan; throws `bad JPEG: …`. */
export function readScanLayout(d: Uint8Array): ScanLayout {
  const { width, height, comps, quant, restartInterval, scan, scanStart } = readHeaders(d, fail);
  for (const [i, c] of comps.entries()) {
    if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4) fail(`component ${c.id} has sampling factors ${c.h}×${c.v} (each must be 1..4)`);
    if (c.tq > 3) fail(`component ${c.id} uses quantisation table ${c.tq} (0..3)`);
    if (comps.findIndex((x) => x.id === c.id) !== i) fail(`component ${c.id} is defined twice`);
  }
  // T.81 B.2.3: an interleaved MCU holds at most 10 blocks.
  const blocks = scan.length === 1 ? 1 : scan.reduce((s, c) => s + c.comp.h * c.comp.v, 0);
  if (blocks > 10) fail(`interleaved scan has ${blocks} blocks per MCU (at most 10)`);
  const luma = comps[0]!;
  if (!scan.some((s) => s.comp === luma)) fail(`first scan does not carry component ${luma.id} (luma)`);
  const lumaQ0 = quant[luma.tq]?.[0] ?? fail(`missing quantisation table ${luma.tq} (component ${luma.id})`);
  // Chroma components usually share their tables: build each once.
  const built = new Map<HuffmanSpec, HuffmanDecoder>();
  const decoder = (spec: HuffmanSpec) => built.get(spec) ?? built.set(spec, buildDecoder(spec)).get(spec)!;
  return {
    width,
    height,
    comps,
    scan: scan.map((s) => ({ ...s.comp, dc: decoder(s.dc), ac: decoder(s.ac) })),
    restartInterval,
    lumaQ0,
    start: scanStart,
  };
}
