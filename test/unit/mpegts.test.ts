import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsDemuxer, TsMuxer, type AccessUnit, type VideoCodec } from '@vigil/media';
import { rng } from '../security/fuzz.ts';

// Real streams from ffmpeg (libx264, libx265) checked against ffprobe, plus hand-made and
// damaged ones for what ffmpeg never writes.

interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function run(cmd: string, args: string[], input?: Buffer): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    p.stdin.on('error', () => {}); // ffmpeg may stop reading early; its exit code says what happened
    p.stdin.end(input);
  });
}

let dir = '';
const streams: Record<string, Buffer> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-mpegts-'));
  const src = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '4'];
  const make = async (name: string, codec: string[]) => {
    const file = join(dir, `${name}.ts`);
    const r = await run('ffmpeg', ['-v', 'error', '-y', ...src, ...codec, '-f', 'mpegts', file]);
    assert.equal(r.code, 0, r.stderr);
    streams[name] = readFileSync(file);
  };
  await Promise.all([
    make('h264', ['-c:v', 'libx264', '-bf', '2', '-g', '30']),
    make('hevc', ['-c:v', 'libx265', '-x265-params', 'keyint=30:bframes=2:log-level=error']),
    make('mpeg2', ['-c:v', 'mpeg2video']),
    // SPS/PPS only in extradata, none in x264's output.
    make('h264-no-b', ['-c:v', 'libx264', '-bf', '0', '-g', '30', '-x264-params', 'repeat-headers=0', '-flags', '+global_header']),
  ]);
});

after(() => rmSync(dir, { recursive: true, force: true }));


function demux(ts: Buffer, opts?: { maxUnitBytes?: number }): { units: AccessUnit[]; d: TsDemuxer } {
  const d = new TsDemuxer(opts);
  return { units: [...d.push(ts), ...d.flush()], d };
}

function mux(codec: VideoCodec, units: AccessUnit[]): Buffer {
  const m = new TsMuxer(codec);
  return Buffer.concat(units.map((u) => m.mux(u)));
}

const stamps = (units: { pts: number; dts: number; key: boolean }[]) => units.map(({ pts, dts, key }) => ({ pts, dts, key }));

async function probePackets(ts: Buffer): Promise<{ pts: number; dts: number; key: boolean }[]> {
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts,dts,flags', '-of', 'json', '-i', 'pipe:0'], ts);
  assert.equal(r.code, 0, r.stderr);
  const packets = JSON.parse(r.stdout.toString()).packets as { pts: number; dts: number; flags: string }[];
  return packets.map((p) => ({ pts: p.pts, dts: p.dts, key: p.flags.startsWith('K') }));
}

/** Decoded frames' pts, as ffprobe's decoder sees them; `errors` is whatever it logged. */
async function decodeFrames(ts: Buffer): Promise<{ pts: number[]; errors: string }> {
  const r = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts', '-of', 'json', '-i', 'pipe:0'], ts);
  const frames = r.code === 0 ? (JSON.parse(r.stdout.toString()).frames as { pts: number }[]) : [];
  return { pts: frames.map((f) => f.pts), errors: r.stderr };
}

/** Frames decoded by the command infer will run (`ffmpeg -copyts -f mpegts -i pipe:0`). */
async function ffmpegFrames(ts: Buffer): Promise<{ frames: number; errors: string }> {
  const r = await run('ffmpeg', ['-v', 'error', '-copyts', '-f', 'mpegts', '-i', 'pipe:0', '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framecrc', '-'], ts);
  const lines = r.stdout.toString().split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return { frames: lines.length, errors: r.code === 0 ? r.stderr : `exit ${r.code}: ${r.stderr}` };
}

/** NAL unit types of an Annex B buffer, in order. */
function nalTypes(codec: VideoCodec, b: Buffer): number[] {
  const types: number[] = [];
  for (let i = b.indexOf(START); i !== -1; i = b.indexOf(START, i + 3)) types.push(codec === 'h264' ? b[i + 3]! & 0x1f : (b[i + 3]! >> 1) & 0x3f);
  return types;
}
const START = Buffer.from([0, 0, 1]);
const SPS = Buffer.from([0, 0, 1, 0x67]);

/** The Annex B buffer without NAL units of the given types. */
function stripNals(codec: VideoCodec, b: Buffer, drop: number[]): Buffer {
  const starts: number[] = [];
  for (let i = b.indexOf(START); i !== -1; i = b.indexOf(START, i + 3)) starts.push(i);
  const kept = starts.flatMap((s, k) => {
    const nal = b.subarray(s + 3, starts[k + 1] ?? b.length);
    return drop.includes(nalTypes(codec, Buffer.concat([START, nal]))[0]!) ? [] : [Buffer.from([0, 0, 0, 1]), nal];
  });
  return Buffer.concat(kept);
}

const PARAMS: Record<VideoCodec, number[]> = { h264: [7, 8], hevc: [32, 33, 34] };

// ---- Hand-made packets, for what ffmpeg never writes. ----

const VIDEO_PID = 0x100;

/** PAT + PMT as TsMuxer writes them (two packets). */
const tables = (codec: VideoCodec) => new TsMuxer(codec).mux({ pts: 0, dts: 0, key: false, data: Buffer.alloc(0) }).subarray(0, 376);

/** A payload as TS packets on `pid`, unit start on the first, stuffing in the last one's adaptation field. */
function packetize(pid: number, payload: Buffer, cc: { n: number }): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  do {
    const n = Math.min(184, payload.length - i);
    const p = Buffer.alloc(188, 0xff);
    p[0] = 0x47;
    p[1] = (i === 0 ? 0x40 : 0) | (pid >> 8);
    p[2] = pid & 0xff;
    const af = 184 - n;
    p[3] = (af > 0 ? 0x30 : 0x10) | (cc.n++ & 0x0f);
    if (af > 0) p[4] = af - 1;
    if (af > 1) p[5] = 0;
    payload.copy(p, 4 + af, i, i + n);
    out.push(p);
    i += n;
  } while (i < payload.length);
  return Buffer.concat(out);
}

/** A video PES with a PTS only; `length` is PES_packet_length (0: unbounded, as ffmpeg writes). */
function pes(pts: number, data: Buffer, length = 0): Buffer {
  const h = Buffer.from([0, 0, 1, 0xe0, length >> 8, length & 0xff, 0x84, 0x80, 5, 0, 0, 0, 0, 0]);
  h[9] = 0x21 | ((Math.floor(pts / 2 ** 30) & 7) << 1);
  h[10] = (pts >> 22) & 0xff;
  h[11] = (((pts >> 15) & 0x7f) << 1) | 1;
  h[12] = (pts >> 7) & 0xff;
  h[13] = ((pts & 0x7f) << 1) | 1;
  return Buffer.concat([h, data]);
}

/** A minimal H.264 picture: AUD + one non-IDR slice NAL of `size` bytes (0x55 avoids start codes). */
const picture = (size: number) => Buffer.concat([Buffer.from([0, 0, 0, 1, 9, 0xf0, 0, 0, 0, 1, 0x41]), Buffer.alloc(size, 0x55)]);

/** Pushes `ts` in seeded random pieces, checking the bound on buffered bytes after each. */
function pushPieces(d: TsDemuxer, ts: Buffer, seed: number, maxPiece: number, bound?: number): AccessUnit[] {
  const r = rng(seed).next;
  const out: AccessUnit[] = [];
  for (let i = 0; i < ts.length; ) {
    const n = 1 + Math.floor(r() * r() * maxPiece);
    out.push(...d.push(ts.subarray(i, i + n)));
    if (bound !== undefined) assert.ok(d.bufferedBytes <= bound, `buffered ${d.bufferedBytes} > ${bound}`);
    i += n;
  }
  return [...out, ...d.flush()];
}

// ---- Real streams ----

for (const codec of ['h264', 'hevc'] as const) {
  test(`${codec}: access units match ffprobe's packets (count, pts, dts, keyframes)`, async () => {
    const ts = streams[codec]!;
    const { units, d } = demux(ts);
    assert.equal(d.codec, codec);
    assert.equal(d.unsupportedStreamType, undefined);
    assert.deepEqual(d.stats, { packets: ts.length / 188, units: units.length, resyncs: 0, dropped: 0 });
    const probed = await probePackets(ts);
    assert.equal(units.length, 120);
    assert.deepEqual(stamps(units), probed);
    // B-frames: presentation order differs from decode order.
    assert.ok(units.some((u, i) => i > 0 && u.pts < units[i - 1]!.pts), 'no B-frames');
    assert.equal(units.filter((u) => u.key).length, 4);
    // Every unit is Annex B, starting with a start code.
    for (const u of units) assert.ok(u.data.subarray(0, 4).equals(Buffer.from([0, 0, 0, 1])) || u.data.subarray(0, 3).equals(START), `unit at ${u.dts} not Annex B`);
  });

  test(`${codec}: bytes split at random boundaries give the same units`, () => {
    const ts = streams[codec]!;
    const whole = demux(ts).units;
    for (const seed of [1, 2, 3]) {
      const d = new TsDemuxer();
      assert.deepEqual(pushPieces(d, ts, seed, seed === 1 ? 7 : 5000), whole, `seed ${seed}`);
      assert.equal(d.stats.dropped, 0);
    }
  });

  test(`${codec}: muxed back, ffprobe sees the same packets and ffmpeg decodes every frame`, async () => {
    const units = demux(streams[codec]!).units;
    const ts = mux(codec, units);
    assert.equal(ts.length % 188, 0);
    assert.deepEqual(await probePackets(ts), stamps(units));
    const again = demux(ts);
    assert.deepEqual(again.units, units);
    assert.equal(again.d.stats.dropped, 0);
    const dec = await ffmpegFrames(ts);
    assert.equal(dec.errors, '');
    assert.equal(dec.frames, units.length);
  });

  test(`${codec}: a stream that starts at the 2nd key unit decodes from that unit`, async () => {
    const units = demux(streams[codec]!).units;
    const k = units.findIndex((u, i) => i > 0 && u.key);
    const tail = units.slice(k);
    const { pts, errors } = await decodeFrames(mux(codec, tail));
    assert.equal(errors, '');
    assert.equal(pts[0], units[k]!.pts);
    // Leading pictures of an open-GOP HEVC CRA (RASL: shown before it, coded after it) need
    // pictures before it and are skipped; x264's closed GOPs have none.
    const leading = tail.filter((u) => u.pts < units[k]!.pts).length;
    assert.equal(leading, codec === 'h264' ? 0 : 2);
    assert.deepEqual(pts, tail.map((u) => u.pts).filter((p) => p >= units[k]!.pts).sort((a, b) => a - b));
  });

  test(`${codec}: a key unit from the middle, muxed alone, decodes to one frame`, async () => {
    const units = demux(streams[codec]!).units;
    const key = units.filter((u) => u.key)[2]!;
    const { pts, errors } = await decodeFrames(mux(codec, [key]));
    assert.equal(errors, '');
    assert.deepEqual(pts, [key.pts]);
  });

  test(`${codec}: a key unit without parameter sets gets the latest ones seen`, async () => {
    // ffmpeg's TS muxer repeats them on every keyframe, so make a stream that has them only at the start.
    const units = demux(streams[codec]!).units;
    const stripped = units.map((u, i) => (u.key && i > 0 ? { ...u, data: stripNals(codec, u.data, PARAMS[codec]) } : u));
    const keys = stripped.filter((u) => u.key);
    assert.ok(keys.slice(1).every((u) => !nalTypes(codec, u.data).some((t) => PARAMS[codec].includes(t))), 'parameter sets left in');
    // Without them a key unit cannot be decoded alone.
    assert.deepEqual((await decodeFrames(mux(codec, [keys[2]!]))).pts, []);

    const { units: out, d } = demux(mux(codec, stripped));
    assert.equal(d.stats.dropped, 0);
    assert.deepEqual(stamps(out), stamps(units));
    const first = nalTypes(codec, units[0]!.data);
    out.forEach((u, i) => {
      if (!u.key || i === 0) return assert.deepEqual(u.data, stripped[i]!.data);
      const types = nalTypes(codec, u.data);
      // AUD, then the parameter sets in order, then the unit as it was after its AUD.
      assert.deepEqual(types.slice(0, 1 + PARAMS[codec].length), [first[0], ...PARAMS[codec]]);
      assert.deepEqual(types.slice(1 + PARAMS[codec].length), nalTypes(codec, stripped[i]!.data).slice(1));
    });
    const key = out.filter((u) => u.key)[2]!;
    const dec = await decodeFrames(mux(codec, [key]));
    assert.equal(dec.errors, '');
    assert.deepEqual(dec.pts, [key.pts]);
  });
}

test('H.264 without B-frames and without in-band SPS/PPS: ffmpeg\'s TS muxer puts AUD + extradata on key units', async () => {
  const ts = streams['h264-no-b']!;
  const { units, d } = demux(ts);
  assert.deepEqual(stamps(units), await probePackets(ts));
  assert.equal(d.stats.dropped, 0);
  assert.ok(units.every((u) => u.pts === u.dts), 'pts = dts without B-frames');
  // Nothing for the demuxer to add: the muxer inserted the parameter sets itself (SPS bytes are in the TS).
  let sps = 0;
  for (let i = ts.indexOf(SPS); i !== -1; i = ts.indexOf(SPS, i + 1)) sps++;
  assert.equal(sps, units.filter((u) => u.key).length);
  for (const u of units) assert.deepEqual(nalTypes('h264', u.data).slice(0, u.key ? 3 : 1), u.key ? [9, 7, 8] : [9]);
});

test('parameter sets in a PES of their own are kept for the key unit after it', async () => {
  const units = demux(streams.h264!).units.slice(0, 30);
  const first = units[0]!;
  const sets = stripNals('h264', first.data, [9, 5, 6]); // SPS and PPS only
  assert.deepEqual(nalTypes('h264', sets), [7, 8]);
  const m = new TsMuxer('h264');
  const ts = Buffer.concat([m.mux({ ...first, key: false, data: sets }), ...[{ ...first, data: stripNals('h264', first.data, [7, 8]) }, ...units.slice(1)].map((u) => m.mux(u))]);
  const { units: out, d } = demux(ts);
  assert.equal(d.stats.dropped, 0);
  assert.deepEqual(stamps(out), stamps(units));
  assert.deepEqual(nalTypes('h264', out[0]!.data), [9, 7, 8, 6, 5]);
  const dec = await decodeFrames(mux('h264', out));
  assert.equal(dec.errors, '');
  assert.equal(dec.pts.length, 30);
});

test('MPEG-2 video is reported as unsupported and yields no units', () => {
  const { units, d } = demux(streams.mpeg2!);
  assert.equal(d.unsupportedStreamType, 0x02);
  assert.equal(d.codec, undefined);
  assert.deepEqual(units, []);
  assert.equal(d.stats.dropped, 0);
});

test('muxer: continuity counters, tables before key units, PCR on key units', () => {
  const m = new TsMuxer('h264');
  const unit = (key: boolean, size: number) => ({ pts: 2 ** 33 - 1, dts: 2 ** 33 - 3000, key, data: picture(size) });
  const out = Buffer.concat([m.mux(unit(false, 10)), m.mux(unit(false, 400)), m.mux(unit(true, 183)), m.mux(unit(false, 0))]);
  const pids: number[] = [];
  const cc = new Map<number, number>();
  for (let o = 0; o < out.length; o += 188) {
    assert.equal(out[o], 0x47);
    const pid = ((out[o + 1]! & 0x1f) << 8) | out[o + 2]!;
    pids.push(pid);
    const c = out[o + 3]! & 0x0f;
    if (cc.has(pid)) assert.equal(c, (cc.get(pid)! + 1) & 0x0f);
    cc.set(pid, c);
    const pcr = (out[o + 3]! & 0x20) !== 0 && out[o + 4]! > 0 && (out[o + 5]! & 0x10) !== 0;
    assert.equal(pcr, pid === VIDEO_PID && (out[o + 1]! & 0x40) !== 0 && o === 8 * 188, `PCR at packet ${o / 188}`);
  }
  // Tables before the first unit and the key unit only.
  assert.deepEqual(pids, [0, 0x1000, VIDEO_PID, VIDEO_PID, VIDEO_PID, VIDEO_PID, 0, 0x1000, VIDEO_PID, VIDEO_PID, VIDEO_PID]);
  const units = demux(out).units;
  assert.deepEqual(stamps(units), [false, false, false, false].map(() => ({ pts: 2 ** 33 - 1, dts: 2 ** 33 - 3000, key: false })));
  assert.throws(() => m.mux({ pts: 2 ** 33, dts: 0, key: false, data: picture(1) }), RangeError);
  assert.throws(() => m.mux({ pts: 1.5, dts: 0, key: false, data: picture(1) }), RangeError);
});

// ---- Hostile input ----

test('a non-zero PES_packet_length ends the unit without waiting for the next one', () => {
  const cc = { n: 0 };
  const body = picture(500);
  const d = new TsDemuxer();
  const units = d.push(Buffer.concat([tables('h264'), packetize(VIDEO_PID, pes(9000, body, 8 + body.length), cc)]));
  assert.equal(units.length, 1);
  assert.deepEqual(units[0]!.data, body);
  assert.equal(units[0]!.pts, 9000);
  assert.equal(units[0]!.dts, 9000);
  // A PES shorter than it claims is cut short: dropped when the next one starts.
  const short = d.push(Buffer.concat([packetize(VIDEO_PID, pes(12000, body, 0xffff), cc), packetize(VIDEO_PID, pes(15000, body), cc)]));
  assert.deepEqual(short, []);
  assert.equal(d.stats.dropped, 1);
  assert.match(d.lastError ?? '', /shorter/);
  assert.deepEqual(stamps(d.flush()), [{ pts: 15000, dts: 15000, key: false }]);
  // One that claims more than maxUnitBytes is dropped as soon as its header is read.
  const small = new TsDemuxer({ maxUnitBytes: 4096 });
  assert.deepEqual(small.push(Buffer.concat([tables('h264'), packetize(VIDEO_PID, pes(0, picture(100), 0xffff), { n: 0 })])), []);
  assert.equal(small.stats.dropped, 1);
  assert.equal(small.bufferedBytes, 0);
});

test('a 20 MiB PES is dropped without buffering more than maxUnitBytes', () => {
  const max = 1 << 20;
  const cc = { n: 0 };
  const ts = Buffer.concat([
    tables('h264'),
    packetize(VIDEO_PID, pes(0, picture(100)), cc),
    packetize(VIDEO_PID, pes(3000, picture(20 * 1024 * 1024)), cc),
    packetize(VIDEO_PID, pes(6000, picture(max - 100)), cc),
    packetize(VIDEO_PID, pes(9000, picture(100)), cc),
  ]);
  const d = new TsDemuxer({ maxUnitBytes: max });
  const units = pushPieces(d, ts, 7, 200_000, max + 188);
  assert.deepEqual(units.map((u) => u.pts), [0, 6000, 9000]);
  assert.ok(units.every((u) => u.data.length <= max), 'a unit over maxUnitBytes');
  assert.equal(d.stats.dropped, 1);
  assert.match(d.lastError ?? '', /over 1048576 bytes/);
});

test('garbage between packets: resynchronises and loses nothing', () => {
  const ts = streams.h264!;
  const r = rng(11).next;
  const parts: Buffer[] = [];
  let inserted = 0;
  let last = -1;
  for (let o = 0; o < ts.length; o += 188) {
    parts.push(ts.subarray(o, o + 188));
    // Not after two packets in a row: a packet between two runs of garbage has no neighbour to confirm its sync.
    if (o > 0 && o - last > 188 && r() < 0.02) {
      last = o;
      // Random bytes hold the odd 0x47: one counts as sync only if another follows 188 bytes on.
      parts.push(Buffer.from(Array.from({ length: 1 + Math.floor(r() * 400) }, () => Math.floor(r() * 256))));
      inserted++;
    }
  }
  const { units, d } = demux(Buffer.concat([Buffer.from('leading garbage G'), ...parts]));
  const syncs = parts.filter((p) => p.length !== 188).reduce((n, p) => n + p.filter((b) => b === 0x47).length, 0);
  assert.ok(inserted > 10 && syncs >= 5, `${inserted} runs of garbage holding ${syncs} sync bytes`);
  assert.equal(d.stats.resyncs, inserted + 1);
  assert.deepEqual(units, demux(ts).units);
});

test('duplicated packets are ignored, lost packets drop only their units', () => {
  const ts = streams.h264!;
  const whole = demux(ts).units;
  const packets = Array.from({ length: ts.length / 188 }, (_, k) => ts.subarray(k * 188, k * 188 + 188));
  const r = rng(5).next;
  const dup = demux(Buffer.concat(packets.flatMap((p) => (r() < 0.1 ? [p, p] : [p]))));
  assert.deepEqual(dup.units, whole);
  assert.equal(dup.d.stats.dropped, 0);

  const isVideo = (p: Buffer) => (((p[1]! & 0x1f) << 8) | p[2]!) === VIDEO_PID;
  const kept = packets.filter((p) => !(isVideo(p) && r() < 0.02));
  const lost = demux(Buffer.concat(kept));
  assert.ok(lost.d.stats.dropped > 5, `dropped ${lost.d.stats.dropped}`);
  // Each loss costs at most the unit it hit (counted) and, if it took a unit's start, that unit.
  assert.ok(lost.units.length + lost.d.stats.dropped >= whole.length - (packets.length - kept.length), `${lost.units.length} units`);
  // Whatever comes out is intact: exactly one of the original units.
  const byPts = new Map(whole.map((u) => [u.pts, u]));
  for (const u of lost.units) assert.deepEqual(u, byPts.get(u.pts));
  assert.match(lost.d.lastError ?? '', /continuity/);
});

test('bogus adaptation_field_length and PES headers are counted and skipped', () => {
  const cc = { n: 0 };
  const unit = (pts: number) => packetize(VIDEO_PID, pes(pts, picture(400)), cc);
  // Built in stream order, so that continuity counters run on.
  const first = unit(0);
  const second = unit(3000);
  second[188 + 3] = 0x30 | (second[188 + 3]! & 0x0f); // adaptation field + payload...
  second[188 + 4] = 200; // ...longer than the packet
  const third = unit(6000);
  third[2 * 188 + 3] = 0x20 | (third[2 * 188 + 3]! & 0x0f); // adaptation field only...
  third[2 * 188 + 4] = 250; // ...of 250 bytes
  const badMarker = packetize(VIDEO_PID, pes(9000, picture(400)), cc);
  badMarker[4 + 11] = badMarker[4 + 11]! & 0xfe; // a PTS marker bit
  const good = unit(10500); // ends the one before, so that its error is seen on its own
  const noStart = packetize(VIDEO_PID, Buffer.concat([Buffer.from([0, 0, 2]), pes(12000, picture(400)).subarray(3)]), cc);
  const shortPes = pes(15000, picture(100));
  const headerPast = packetize(VIDEO_PID, shortPes, cc);
  headerPast[188 - shortPes.length + 8] = 255; // PES_header_data_length past the PES (one packet, stuffed at the front)
  const damaged = unit(18000);
  damaged[188 + 1] = damaged[188 + 1]! | 0x80; // transport_error_indicator
  const ts = Buffer.concat([tables('h264'), first, second, third, badMarker, good, noStart, headerPast, damaged, unit(21000), unit(24000)]);
  const d = new TsDemuxer();
  const errors: (string | undefined)[] = [];
  const units: AccessUnit[] = [];
  for (let o = 0; o < ts.length; o += 188) {
    units.push(...d.push(ts.subarray(o, o + 188)));
    if (d.lastError !== errors.at(-1)) errors.push(d.lastError);
  }
  units.push(...d.flush());
  assert.deepEqual(units.map((u) => u.pts), [0, 10500, 21000, 24000]);
  assert.equal(d.stats.dropped, 6);
  assert.deepEqual(errors, [
    'adaptation_field_length 200',
    'adaptation_field_length 250',
    'PTS/DTS marker bit not set',
    'PES without a start code',
    'PES_header_data_length past the PES',
    'transport_error_indicator set',
  ]);
});

test('a signalled discontinuity is accepted; scrambled packets and tables with a bad CRC are not', () => {
  const cc = { n: 0 };
  const small = (pts: number) => packetize(VIDEO_PID, pes(pts, picture(100)), cc); // one packet, stuffing in its adaptation field
  const a = small(0);
  const b = small(3000);
  b[3] = (b[3]! & 0xf0) | ((b[3]! + 5) & 0x0f); // counter jumps...
  b[5] = b[5]! | 0x80; // ...with discontinuity_indicator set
  cc.n += 5;
  const c = small(6000);
  const scrambled = small(9000);
  scrambled[3] = scrambled[3]! | 0x80; // transport_scrambling_control
  const d1 = new TsDemuxer();
  const units = [...d1.push(Buffer.concat([tables('h264'), a, b, c, scrambled, small(12000)])), ...d1.flush()];
  assert.deepEqual(units.map((u) => u.pts), [0, 3000, 6000, 12000]);
  assert.equal(d1.stats.dropped, 1);

  // A PMT whose CRC does not match is not followed.
  const t = Buffer.from(tables('h264'));
  t[188 + 5 + 17] = 0x24; // stream_type, in a section with the old CRC
  const d2 = new TsDemuxer();
  assert.deepEqual(d2.push(Buffer.concat([t, small(0), small(3000)])), []);
  assert.equal(d2.codec, undefined);
  assert.equal(d2.lastError, 'PMT: CRC mismatch');
});

test('a new PMT switches the stream: the unit in progress is dropped, the new codec is used', () => {
  const h264 = demux(streams.h264!).units.slice(0, 10);
  const hevc = demux(streams.hevc!).units.slice(0, 10);
  const { units, d } = demux(Buffer.concat([mux('hevc', hevc), mux('h264', h264)]));
  assert.equal(d.codec, 'h264');
  assert.equal(d.stats.dropped, 1);
  assert.deepEqual(units, [...hevc.slice(0, 9), ...h264]);
});

test('seeded fuzz: random bytes, bit flips, truncations and shuffles never throw and stay bounded', () => {
  const max = 256 * 1024;
  const bound = max + 188;
  const r = rng(42).next;
  const base = [streams.h264!, streams.hevc!];
  const check = (d: TsDemuxer, units: AccessUnit[]) => {
    assert.ok(d.bufferedBytes <= bound, `buffered ${d.bufferedBytes}`);
    assert.doesNotMatch(d.lastError ?? '', /internal/);
    for (const u of units) {
      assert.ok(u.data.length <= max, `unit of ${u.data.length} bytes`);
      for (const t of [u.pts, u.dts]) assert.ok(Number.isInteger(t) && t >= 0 && t < 2 ** 33, `timestamp ${t}`);
    }
  };
  const cases: Buffer[] = [];
  for (let k = 0; k < 20; k++) cases.push(Buffer.from(Array.from({ length: Math.floor(r() * 20000) }, () => Math.floor(r() * 256))));
  // Random packets with valid sync bytes and our PIDs, so the parsers past framing get exercised.
  for (let k = 0; k < 20; k++) {
    const n = 1 + Math.floor(r() * 100);
    const b = Buffer.from(Array.from({ length: n * 188 }, () => Math.floor(r() * 256)));
    for (let o = 0; o < b.length; o += 188) {
      const pid = [0, 0x1000, VIDEO_PID][Math.floor(r() * 3)]!;
      b[o] = 0x47;
      b[o + 1] = (b[o + 1]! & 0xe0) | (pid >> 8);
      b[o + 2] = pid & 0xff;
    }
    cases.push(Buffer.concat([tables(r() < 0.5 ? 'h264' : 'hevc'), b]));
  }
  for (let k = 0; k < 40; k++) {
    const b = Buffer.from(base[k % 2]!);
    const flips = 1 + Math.floor(r() * 300);
    for (let f = 0; f < flips; f++) b[Math.floor(r() * b.length)]! ^= 1 << Math.floor(r() * 8);
    cases.push(b.subarray(0, r() < 0.5 ? b.length : Math.floor(r() * b.length)));
  }
  for (let k = 0; k < 10; k++) {
    // Packets shuffled in runs: everything out of order.
    const b = base[k % 2]!;
    const runs: Buffer[] = [];
    for (let o = 0; o < b.length; ) {
      const len = 188 * (1 + Math.floor(r() * 20));
      runs.push(b.subarray(o, o + len));
      o += len;
    }
    runs.sort(() => r() - 0.5);
    cases.push(Buffer.concat(runs));
  }
  let units = 0;
  let dropped = 0;
  let resyncs = 0;
  cases.forEach((ts, k) => {
    const d = new TsDemuxer({ maxUnitBytes: max });
    const out = pushPieces(d, ts, k, 3000, bound);
    check(d, out);
    units += out.length;
    dropped += d.stats.dropped;
    resyncs += d.stats.resyncs;
  });
  // The damage is seen and counted, and the damaged real streams still give most of their units.
  assert.ok(dropped > 100, `dropped ${dropped}`);
  assert.ok(resyncs > 20, `resyncs ${resyncs}`);
  assert.ok(units > 2000, `units ${units}`);
});
