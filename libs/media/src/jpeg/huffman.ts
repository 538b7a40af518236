/**
 * Huffman tables of a baseline JPEG as DHT stores them (ITU T.81 Annex C), read and checked
 * once for every reader here: the DC decoder builds decoding tables from them, the band
 * splicer encoding tables.
 */

/** One DHT table: counts of codes per length 1..16, then the symbols in code order. */
export interface HuffmanSpec {
  counts: Uint8Array;
  symbols: Uint8Array;
}

/** Table class as DHT numbers it: 0 = DC, 1 = AC. */
export type HuffmanClass = 'DC' | 'AC';

/**
 * Reads table `id` of class `cls` at d[p] (just after its Tc/Th byte) and checks it: counts
 * that overflow a code length would index past any table built from them, more than 256
 * symbols repeat one, and a DC category above 11 or an AC size above 10 means nothing in
 * baseline. Copies, not views: a cached
 * table must not keep the frame it came from alive.
 */
export function readHuffmanSpec(d: Uint8Array, p: number, end: number, cls: HuffmanClass, id: number, fail: (why: string) => never): HuffmanSpec {
  if (p + 16 > end) fail('truncated DHT segment');
  const counts = d.slice(p, p + 16);
  let total = 0;
  let code = 0;
  for (let len = 1; len <= 16; len++) {
    total += counts[len - 1]!;
    code += counts[len - 1]!;
    if (code > 1 << len) fail(`${cls} Huffman table ${id} has more codes of length ${len} than fit`);
    code <<= 1;
  }
  if (total > 256) fail(`${cls} Huffman table ${id} has ${total} symbols (at most 256)`);
  if (p + 16 + total > end) fail(`truncated DHT segment (table of ${total} symbols)`);
  const symbols = d.slice(p + 16, p + 16 + total);
  for (const s of symbols) {
    if (cls === 'DC' ? s > 11 : (s & 15) > 10) fail(`${cls} Huffman table ${id} has symbol 0x${s.toString(16)}, which baseline does not define`);
  }
  return { counts, symbols };
}

/** Canonical code assignment (Annex C.2): lengths 1..16 in turn, codes counting up within a length. */
export function forEachCode(spec: HuffmanSpec, fn: (symbol: number, code: number, len: number) => void): void {
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < spec.counts[len - 1]!; i++, k++, code++) fn(spec.symbols[k]!, code, len);
    code <<= 1;
  }
}
