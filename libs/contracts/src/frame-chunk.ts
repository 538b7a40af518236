/**
 * The frame chunk envelope carried on `vigil.frames`: a few seconds of JPEG frames of
 * one camera, each with its capture time. Binary, versioned, and decoded defensively:
 * a malformed message yields a reason instead of a throw so consumers can dead-letter it.
 *
 * Layout (big-endian), version 1:
 *   magic "VGFC" | u8 version | u8 codec (1 = jpeg, 3 = jpeg keyframes, 4 = jpeg with crops) | u16 cameraIdLen | cameraId utf8
 *   | u32 seqHi | u32 seqLo | u16 width | u16 height | u32 fps×1000 | u16 frameCount
 *   | frameCount × (f64 captureMs | f64 streamS | u32 byteLength)
 *   | codec 4 only: u8 zoneCount | zoneCount × (u16 nameLen | name utf8) | frameCount × zoneCount × u32 cropLength
 *   | frame bytes… | codec 4 only: crop bytes, frame by frame, zone by zone (length 0: no crop)
 *
 * The binary parse reads the layout; FrameChunkHeaderSchema then judges the values it read.
 */
import { z } from 'zod';
import { checkMessage, MessageId, TimeMs, type DecodeResult } from './check.ts';

export const FRAME_CHUNK_VERSION = 1;
const MAGIC = 0x56474643; // "VGFC"
const CODEC_JPEG = 1;
/** Keyframe pictures of a camera read on demand: the trigger stage's input while it is quiet. */
const CODEC_JPEG_KEYFRAMES = 3;
/** Frames that carry, beside the picture, zones cut from the full-resolution picture (`zone_view: crop`). */
const CODEC_JPEG_CROPS = 4;
/** The most zones one camera's frames carry crops of. */
export const MAX_CROP_ZONES = 16;
const FRAME_ENTRY_BYTES = 20;
const MAX_FRAMES = 4096;

/**
 * The largest picture any stage decodes or splices: a JPEG's size is a claim made by whoever
 * wrote the chunk, so it is checked before it sizes an allocation or a loop. 8192 px a side
 * covers 8K cameras; 40 MP is above 8K UHD (7680×4320, 33 MP).
 */
export const MAX_FRAME_SIDE = 8192;
/** The highest frame rate a chunk may declare (ingest sends at most 30). */
export const MAX_FPS = 120;
/** See MAX_FRAME_SIDE. */
export const MAX_FRAME_PIXELS = 40_000_000;

/** One encoded video frame with its capture time (wall clock, ms since epoch). */
export interface Frame {
  /** Capture time, wall clock, ms since the Unix epoch. */
  capturedAt: number;
  /** Seconds since the camera's stream started (a window's band restarts at 0: see infer). */
  streamTime: number;
  jpeg: Buffer;
  /**
   * `zone_view: crop`: zones cut from the camera's full-resolution picture at the same
   * instant, by zone name (JPEG, standard Huffman tables, sides a multiple of 16).
   */
  crops?: ReadonlyMap<string, Buffer>;
}

/**
 * A chunk's header as read from the envelope: everything but the frame bytes (those are
 * checked as JPEG: SOI/EOI here, in full where they are decoded).
 */
export const FrameChunkHeaderSchema = z
  .object({
    cameraId: MessageId,
    /** Monotonic per camera (across reconnects) so gaps and replays are visible. */
    seq: z.int().min(0),
    width: z.int().min(1).max(MAX_FRAME_SIDE),
    height: z.int().min(1).max(MAX_FRAME_SIDE),
    // Labels and token estimates scale with it, so bound it (ingest sends at most 30).
    fps: z.number().gt(0).max(MAX_FPS),
    codec: z.literal('jpeg'),
    /**
     * `decode: on_demand` cameras send two kinds of chunk: their keyframes' pictures (true:
     * what the trigger stage judges while the camera is quiet, one per GOP), and, while infer
     * has asked for it, the camera decoded at its fps (absent: what windows are made of).
     */
    keyframes: z.boolean().optional(),
    /** Names of the zones the frames carry crops of (codec 4). */
    cropZones: z.array(z.string().min(1).max(128)).max(MAX_CROP_ZONES).optional(),
    frames: z.array(z.object({ capturedAt: TimeMs, streamTime: z.number(), byteLength: z.int().min(0) })).max(MAX_FRAMES),
  })
  .refine((h) => h.width * h.height <= MAX_FRAME_PIXELS, { path: ['width'], error: `width × height must be at most ${MAX_FRAME_PIXELS} pixels` });
export type FrameChunkHeader = z.infer<typeof FrameChunkHeaderSchema>;

/** A chunk of consecutive frames from one camera: the header's fields, and the frames. */
export type FrameChunk = Omit<FrameChunkHeader, 'frames' | 'cropZones'> & { frames: Frame[] };

/** Serialises a chunk into the v1 envelope. */
export function encodeFrameChunk(chunk: FrameChunk): Buffer {
  const id = Buffer.from(chunk.cameraId, 'utf8');
  if (id.length === 0 || id.length > 0xffff) throw new RangeError('cameraId must be 1..65535 bytes');
  if (chunk.frames.length > MAX_FRAMES) throw new RangeError(`a chunk holds at most ${MAX_FRAMES} frames`);
  const zones = chunk.keyframes ? [] : cropZonesOf(chunk.frames);
  const names = zones.map((z) => Buffer.from(z, 'utf8'));
  const cropHead = zones.length === 0 ? 0 : 1 + names.reduce((n, b) => n + 2 + b.length, 0) + chunk.frames.length * zones.length * 4;
  const headLen = 4 + 1 + 1 + 2 + id.length + 8 + 2 + 2 + 4 + 2 + chunk.frames.length * FRAME_ENTRY_BYTES + cropHead;
  const head = Buffer.allocUnsafe(headLen);
  let o = head.writeUInt32BE(MAGIC, 0);
  o = head.writeUInt8(FRAME_CHUNK_VERSION, o);
  o = head.writeUInt8(chunk.keyframes ? CODEC_JPEG_KEYFRAMES : zones.length > 0 ? CODEC_JPEG_CROPS : CODEC_JPEG, o);
  o = head.writeUInt16BE(id.length, o);
  o += id.copy(head, o);
  o = head.writeUInt32BE(Math.floor(chunk.seq / 2 ** 32), o);
  o = head.writeUInt32BE(chunk.seq % 2 ** 32, o);
  o = head.writeUInt16BE(chunk.width, o);
  o = head.writeUInt16BE(chunk.height, o);
  o = head.writeUInt32BE(Math.round(chunk.fps * 1000), o);
  o = head.writeUInt16BE(chunk.frames.length, o);
  for (const f of chunk.frames) {
    o = head.writeDoubleBE(f.capturedAt, o);
    o = head.writeDoubleBE(f.streamTime, o);
    o = head.writeUInt32BE(f.jpeg.length, o);
  }
  if (zones.length === 0) return Buffer.concat([head, ...chunk.frames.map((f) => f.jpeg)]);
  o = head.writeUInt8(zones.length, o);
  for (const b of names) {
    o = head.writeUInt16BE(b.length, o);
    o += b.copy(head, o);
  }
  const crops: Buffer[] = [];
  for (const f of chunk.frames) {
    for (const z of zones) {
      const c = f.crops?.get(z) ?? EMPTY;
      o = head.writeUInt32BE(c.length, o);
      crops.push(c);
    }
  }
  return Buffer.concat([head, ...chunk.frames.map((f) => f.jpeg), ...crops]);
}

const EMPTY = Buffer.alloc(0);

/** The zones any frame carries a crop of, in first-seen order. */
function cropZonesOf(frames: readonly Frame[]): string[] {
  const zones = new Set<string>();
  for (const f of frames) for (const z of f.crops?.keys() ?? []) zones.add(z);
  if (zones.size > MAX_CROP_ZONES) throw new RangeError(`a chunk carries crops of at most ${MAX_CROP_ZONES} zones`);
  return [...zones];
}

/** Parses a v1 envelope; never throws on bad input. Frame buffers share memory with `buf`. */
export function decodeFrameChunk(buf: Buffer): DecodeResult<FrameChunk> {
  const fail = (reason: string): DecodeResult<FrameChunk> => ({ ok: false, reason });
  if (buf.length < 6) return fail(`too short (${buf.length} bytes)`);
  if (buf.readUInt32BE(0) !== MAGIC) return fail('bad magic: not a Vigil frame chunk');
  const version = buf.readUInt8(4);
  if (version !== FRAME_CHUNK_VERSION) return fail(`unsupported version ${version}`);
  const codec = buf.readUInt8(5);
  if (codec !== CODEC_JPEG && codec !== CODEC_JPEG_KEYFRAMES && codec !== CODEC_JPEG_CROPS) return fail(`unsupported codec ${codec}`);
  let o = 6;
  const need = (n: number) => o + n <= buf.length;
  if (!need(2)) return fail('truncated header');
  const idLen = buf.readUInt16BE(o);
  o += 2;
  if (idLen === 0 || !need(idLen + 18)) return fail('truncated header');
  o += idLen;
  const head = {
    cameraId: buf.toString('utf8', o - idLen, o),
    seq: buf.readUInt32BE(o) * 2 ** 32 + buf.readUInt32BE(o + 4),
    width: buf.readUInt16BE(o + 8),
    height: buf.readUInt16BE(o + 10),
    fps: buf.readUInt32BE(o + 12) / 1000,
    codec: 'jpeg' as const,
    ...(codec === CODEC_JPEG_KEYFRAMES ? { keyframes: true } : {}),
    cropZones: undefined as string[] | undefined,
    frames: [] as { capturedAt: number; streamTime: number; byteLength: number }[],
  };
  const count = buf.readUInt16BE(o + 16);
  o += 18;
  if (!need(count * FRAME_ENTRY_BYTES)) return fail('truncated frame table');
  for (let i = 0; i < count; i++, o += FRAME_ENTRY_BYTES) {
    head.frames.push({ capturedAt: buf.readDoubleBE(o), streamTime: buf.readDoubleBE(o + 8), byteLength: buf.readUInt32BE(o + 16) });
  }
  let cropLengths: number[] = [];
  if (codec === CODEC_JPEG_CROPS) {
    if (!need(1)) return fail('truncated crop table');
    const zoneCount = buf.readUInt8(o++);
    if (zoneCount === 0 || zoneCount > MAX_CROP_ZONES) return fail(`crop zones: expected 1-${MAX_CROP_ZONES}, got ${zoneCount}`);
    head.cropZones = [];
    for (let z = 0; z < zoneCount; z++) {
      if (!need(2)) return fail('truncated crop table');
      const len = buf.readUInt16BE(o);
      if (!need(2 + len)) return fail('truncated crop table');
      head.cropZones.push(buf.toString('utf8', o + 2, o + 2 + len));
      o += 2 + len;
    }
    if (new Set(head.cropZones).size !== zoneCount) return fail('crop zones: a zone is named twice');
    if (!need(count * zoneCount * 4)) return fail('truncated crop table');
    cropLengths = Array.from({ length: count * zoneCount }, (_, i) => buf.readUInt32BE(o + i * 4));
    o += count * zoneCount * 4;
  }
  const checked = checkMessage('frameChunk', FrameChunkHeaderSchema, head);
  if (!checked.ok) return checked;
  const frames: Frame[] = [];
  let prev = -Infinity;
  for (const [i, e] of head.frames.entries()) {
    if (e.capturedAt < prev) return fail(`frameChunk.frames[${i}].capturedAt: not monotonic`);
    prev = e.capturedAt;
    if (!need(e.byteLength)) return fail(`frame ${i}: truncated (${e.byteLength} bytes declared)`);
    const jpeg = buf.subarray(o, o + e.byteLength);
    o += e.byteLength;
    if (!looksLikeJpeg(jpeg)) return fail(`frame ${i}: not a JPEG (missing SOI/EOI markers)`);
    frames.push({ capturedAt: e.capturedAt, streamTime: e.streamTime, jpeg });
  }
  const zones = head.cropZones ?? [];
  for (const [i, f] of frames.entries()) {
    if (zones.length === 0) break;
    const crops = new Map<string, Buffer>();
    for (const [z, zone] of zones.entries()) {
      const len = cropLengths[i * zones.length + z]!;
      if (len === 0) continue;
      if (!need(len)) return fail(`frame ${i}: crop of zone ${z}: truncated (${len} bytes declared)`);
      const crop = buf.subarray(o, o + len);
      o += len;
      if (!looksLikeJpeg(crop)) return fail(`frame ${i}: crop of zone ${z}: not a JPEG (missing SOI/EOI markers)`);
      crops.set(zone, crop);
    }
    if (crops.size > 0) f.crops = crops;
  }
  if (o !== buf.length) return fail(`${buf.length - o} trailing bytes`);
  const { cropZones: _zones, ...rest } = head;
  return { ok: true, value: { ...rest, frames } };
}

/** Cheap structural check: SOI at the start and EOI at the end. */
export function looksLikeJpeg(b: Buffer): boolean {
  const n = b.length;
  return n >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[n - 2] === 0xff && b[n - 1] === 0xd9;
}
