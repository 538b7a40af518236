/**
 * The JPEG fuzz loop, run in a worker by inputs.test.ts (see runWatched): mutates real
 * JPEGs (the first two bases must be ingest's 4:2:0 frames) and runs each through the DC
 * decoder, the band splicer (whole JPEG and base64 pieces) and the MJPEG splitter. Every case must return or throw an Error with the
 * component's own message prefix; anything else (a TypeError, a RangeError from a huge
 * allocation, a non-Error) ends the loop with the case that did it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BandSplicer, JpegSplitter, decodeDcImage } from '@vigil/media';
import { mutate, rng, type Rng } from './fuzz.ts';
import { overwriteHeaderField, segments } from './jpegs.ts';

/** The worker's workerData. */
export interface JpegFuzzInput {
  seed: number;
  cases: number;
  bases: { name: string; jpeg: Uint8Array }[];
}

/** What the worker posts as `done`. */
export interface JpegFuzzResult {
  cases: number;
  /** Outcomes per component: returned vs threw (expected errors). */
  ok: Record<string, number>;
  threw: Record<string, number>;
  /** Error messages (numbers as N) by count: which checks the cases reached. */
  messages: Record<string, number>;
  /** Slowest single call, for the log. */
  slowestMs: number;
  slowest: string;
  /** Set when a case broke the contract: what it was and what happened. */
  failure?: string;
}

const LABELS = ['0.00s', '0.25s'];

/** One to three mutations of a base JPEG, and a description to reproduce it by. */
function mutant(r: Rng, base: Uint8Array): { jpeg: Uint8Array; what: string[] } {
  let jpeg = base;
  const what: string[] = [];
  for (let i = 0, n = r.range(1, 3); i < n; i++) {
    const kind = r.int(8);
    if (kind <= 1) {
      const f = overwriteHeaderField(r, jpeg);
      jpeg = f.jpeg;
      what.push(f.what);
    } else if (kind === 2) {
      const n = r.range(1, 8);
      jpeg = mutate.flipBits(r, jpeg, n);
      what.push(`${n} bit flips`);
    } else if (kind === 3) {
      // Bits of the entropy-coded data only: headers intact, so the scan walkers see it.
      const start = segments(jpeg).find((s) => s.marker === 0xda)?.end ?? 0;
      const n = r.range(1, 4);
      jpeg = Uint8Array.from([...jpeg.subarray(0, start), ...mutate.flipBits(r, jpeg.subarray(start), n)]);
      what.push(`${n} bit flips in the scan`);
    } else if (kind === 4) {
      const bytes = r.chance(0.5) ? r.bytes(r.range(1, 8)) : Uint8Array.from([0xff, r.pick([0x00, 0xd0, 0xd9, 0xda, 0xc4, 0xff, r.int(256)])]);
      jpeg = mutate.insert(r, jpeg, bytes);
      what.push(`insert ${bytes.length} bytes`);
    } else if (kind === 5) {
      jpeg = mutate.remove(r, jpeg);
      what.push('remove bytes');
    } else if (kind === 6) {
      jpeg = mutate.truncate(r, jpeg);
      what.push(`truncate to ${jpeg.length}`);
    } else {
      // Keep SOI…EOI framing but cut the scan short, as a chunk writer could.
      const cut = r.int(jpeg.length + 1);
      jpeg = Uint8Array.from([...jpeg.subarray(0, cut), 0xff, 0xd9]);
      what.push(`cut at ${cut} + EOI`);
    }
  }
  return { jpeg, what };
}

async function main(input: JpegFuzzInput): Promise<JpegFuzzResult> {
  const r = rng(input.seed);
  const splicer = await BandSplicer.open({ labels: LABELS });
  const res: JpegFuzzResult = { cases: 0, ok: {}, threw: {}, messages: {}, slowestMs: 0, slowest: '' };
  const bases = input.bases.map((b) => ({ name: b.name, jpeg: Buffer.from(b.jpeg) }));
  for (let i = 0; i < input.cases; i++) {
    // Half the cases start from ingest's kind of frame: the only kind the splicer takes.
    const base = r.chance(0.5) ? bases[r.int(2)]! : r.pick(bases);
    const m = mutant(r, base.jpeg);
    const jpeg = Buffer.from(m.jpeg);
    const label = r.pick(LABELS);
    const side = r.pick(['left', 'right'] as const);
    const what = `case ${i} (${base.name}: ${m.what.join(', ')})`;
    parentPort!.postMessage({ progress: what });
    const calls: [string, RegExp, () => { size: number; limit: number }][] = [
      ['decodeDcImage', /^(bad JPEG|not a JPEG)/, () => {
        const dc = decodeDcImage(jpeg);
        // A luma block costs at least 2 bits: the picture cannot outgrow its data.
        return { size: dc.data.length, limit: Math.max(4 * jpeg.length, dc.width * dc.height) };
      }],
      ['splice', /^cannot splice a band/, () => ({ size: splicer.splice(jpeg, label, side).length, limit: jpeg.length + 65536 })],
      ['spliceBase64', /^cannot splice a band/, () => ({ size: splicer.spliceBase64(jpeg, label, side).reduce((n, b) => n + b.length, 0), limit: 2 * jpeg.length + 131072 })],
    ];
    for (const [name, prefix, call] of calls) {
      const t0 = performance.now();
      try {
        const { size, limit } = call();
        if (name === 'decodeDcImage' && size > 4 * jpeg.length) return { ...res, failure: `${what}: ${name} made a ${size}-byte picture from ${jpeg.length} bytes` };
        if (size > limit) return { ...res, failure: `${what}: ${name} returned ${size} bytes` };
        res.ok[name] = (res.ok[name] ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof Error) || e instanceof RangeError || !prefix.test(e.message)) {
          return { ...res, failure: `${what}: ${name} threw ${e instanceof Error ? `${e.name}: ${e.message}` : `a non-Error ${String(e)}`}` };
        }
        res.threw[name] = (res.threw[name] ?? 0) + 1;
        const key = e.message.replace(/0x[0-9a-f]+|\d+/g, 'N');
        res.messages[key] = (res.messages[key] ?? 0) + 1;
      }
      const ms = performance.now() - t0;
      if (ms > res.slowestMs) (res.slowestMs = ms), (res.slowest = `${name} on ${what}`);
    }
    // The splitter: the mutant in random pieces, behind a valid frame, with a small cap.
    const splitter = new JpegSplitter(64 * 1024);
    const stream = Buffer.concat([base.jpeg, jpeg, base.jpeg]);
    try {
      for (let o = 0; o < stream.length; ) {
        const n = r.range(1, 4096);
        for (const f of splitter.push(stream.subarray(o, o + n))) if (f[0] !== 0xff || f[1] !== 0xd8) return { ...res, failure: `${what}: splitter returned a frame without SOI` };
        o += n;
      }
    } catch (e) {
      if (!(e instanceof Error) || !/^output is not MJPEG/.test(e.message)) return { ...res, failure: `${what}: splitter threw ${String(e)}` };
    }
    res.cases++;
  }
  return res;
}

parentPort!.postMessage({ done: await main(workerData as JpegFuzzInput) });
