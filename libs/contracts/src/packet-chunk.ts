/**
 * The packet chunk envelope carried on `vigil.frames` for cameras read `on_demand`: about a
 * second of one camera's compressed video exactly as the camera sent it (H.264 or H.265
 * access units, Annex B), in decode order, each with its capture time and a keyframe flag.
 * Ingest decodes nothing; infer decodes what a trigger or a question looks at.
 *
 * Layout (big-endian), version 1:
 *   magic "VGPC" | u8 version | u8 codec (1 = h264, 2 = hevc) | u16 cameraIdLen | cameraId utf8
 *   | u32 seqHi | u32 seqLo | u32 fps×1000 | u16 packetCount
 *   | packetCount × (f64 capturedAt | f64 decodeAt | u8 flags (bit 0: key) | u32 byteLength) | bytes…
 *
 * capturedAt comes from the packet's presentation time, decodeAt from its decode time, both
 * on the camera's capture clock (ms since the epoch): a decoder fed these packets in order,
 * with these times, shows each picture at its capture time. Decoded defensively like the
 * frame chunk: a malformed message yields a reason, never a throw.
 */
import { z } from 'zod';
import { checkMessage, MessageId, TimeMs, type DecodeResult } from './check.ts';
import { decodeFrameChunk, MAX_FPS, type FrameChunk } from './frame-chunk.ts';

export const PACKET_CHUNK_VERSION = 1;
export const PACKET_CHUNK_MAGIC = 0x56475043; // "VGPC"
const CODECS = ['h264', 'hevc'] as const;
export type PacketCodec = (typeof CODECS)[number];
const ENTRY_BYTES = 21;
/** 10 s of 120 fps: a chunk is about a second. */
const MAX_PACKETS = 1200;
/** A coded picture's presentation follows its decode by at most the reorder depth: seconds is broken. */
const MAX_REORDER_MS = 10_000;

/** One coded picture of a camera's stream. */
export interface VideoPacket {
  /** When the picture was captured (its presentation time), ms since the epoch. */
  capturedAt: number;
  /** Its decode time on the same clock: non-decreasing in a chunk, at most `capturedAt`. */
  decodeAt: number;
  /** A decoder can start here (H.264 IDR, H.265 IRAP), parameter sets included. */
  key: boolean;
  /** Annex B bytes. */
  data: Buffer;
}

export const PacketChunkHeaderSchema = z.object({
  cameraId: MessageId,
  seq: z.int().min(0),
  /** The rate infer decodes the camera at when a question looks (the camera's `fps`). */
  fps: z.number().gt(0).max(MAX_FPS),
  codec: z.enum(CODECS),
  packets: z.array(z.object({ capturedAt: TimeMs, decodeAt: TimeMs, key: z.boolean(), byteLength: z.int().min(0) })).max(MAX_PACKETS),
});
export type PacketChunkHeader = z.infer<typeof PacketChunkHeaderSchema>;

export type PacketChunk = Omit<PacketChunkHeader, 'packets'> & { packets: VideoPacket[] };

export function encodePacketChunk(chunk: PacketChunk): Buffer {
  const id = Buffer.from(chunk.cameraId, 'utf8');
  if (id.length === 0 || id.length > 0xffff) throw new RangeError('cameraId must be 1..65535 bytes');
  if (chunk.packets.length > MAX_PACKETS) throw new RangeError(`a chunk holds at most ${MAX_PACKETS} packets`);
  const head = Buffer.allocUnsafe(4 + 1 + 1 + 2 + id.length + 8 + 4 + 2 + chunk.packets.length * ENTRY_BYTES);
  let o = head.writeUInt32BE(PACKET_CHUNK_MAGIC, 0);
  o = head.writeUInt8(PACKET_CHUNK_VERSION, o);
  o = head.writeUInt8(CODECS.indexOf(chunk.codec) + 1, o);
  o = head.writeUInt16BE(id.length, o);
  o += id.copy(head, o);
  o = head.writeUInt32BE(Math.floor(chunk.seq / 2 ** 32), o);
  o = head.writeUInt32BE(chunk.seq % 2 ** 32, o);
  o = head.writeUInt32BE(Math.round(chunk.fps * 1000), o);
  o = head.writeUInt16BE(chunk.packets.length, o);
  for (const p of chunk.packets) {
    o = head.writeDoubleBE(p.capturedAt, o);
    o = head.writeDoubleBE(p.decodeAt, o);
    o = head.writeUInt8(p.key ? 1 : 0, o);
    o = head.writeUInt32BE(p.data.length, o);
  }
  return Buffer.concat([head, ...chunk.packets.map((p) => p.data)]);
}

/** Whether `buf` claims to be a packet chunk (its magic); `decodePacketChunk` judges the rest. */
export function isPacketChunk(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32BE(0) === PACKET_CHUNK_MAGIC;
}

/** Parses a v1 envelope; never throws. Packet buffers share memory with `buf`. */
export function decodePacketChunk(buf: Buffer): DecodeResult<PacketChunk> {
  const fail = (reason: string): DecodeResult<PacketChunk> => ({ ok: false, reason });
  if (buf.length < 8) return fail(`too short (${buf.length} bytes)`);
  if (!isPacketChunk(buf)) return fail('bad magic: not a Vigil packet chunk');
  const version = buf.readUInt8(4);
  if (version !== PACKET_CHUNK_VERSION) return fail(`unsupported packet chunk version ${version}`);
  const codec = CODECS[buf.readUInt8(5) - 1];
  if (!codec) return fail(`unsupported codec ${buf.readUInt8(5)}`);
  let o = 6;
  const need = (n: number) => o + n <= buf.length;
  const idLen = buf.readUInt16BE(o);
  o += 2;
  if (idLen === 0 || !need(idLen + 14)) return fail('truncated header');
  const head = {
    cameraId: buf.toString('utf8', o, o + idLen),
    seq: buf.readUInt32BE(o + idLen) * 2 ** 32 + buf.readUInt32BE(o + idLen + 4),
    fps: buf.readUInt32BE(o + idLen + 8) / 1000,
    codec,
    packets: [] as { capturedAt: number; decodeAt: number; key: boolean; byteLength: number }[],
  };
  const count = buf.readUInt16BE(o + idLen + 12);
  o += idLen + 14;
  if (!need(count * ENTRY_BYTES)) return fail('truncated packet table');
  for (let i = 0; i < count; i++, o += ENTRY_BYTES) {
    const flags = buf.readUInt8(o + 16);
    if (flags > 1) return fail(`packetChunk.packets[${i}].flags: unknown bits ${flags}`);
    head.packets.push({ capturedAt: buf.readDoubleBE(o), decodeAt: buf.readDoubleBE(o + 8), key: flags === 1, byteLength: buf.readUInt32BE(o + 17) });
  }
  const checked = checkMessage('packetChunk', PacketChunkHeaderSchema, head);
  if (!checked.ok) return checked;
  const packets: VideoPacket[] = [];
  let prev = -Infinity;
  for (const [i, e] of head.packets.entries()) {
    if (e.decodeAt < prev) return fail(`packetChunk.packets[${i}].decodeAt: not in decode order`);
    prev = e.decodeAt;
    if (e.capturedAt < e.decodeAt || e.capturedAt - e.decodeAt > MAX_REORDER_MS) return fail(`packetChunk.packets[${i}].capturedAt: not within ${MAX_REORDER_MS} ms after its decodeAt`);
    if (!need(e.byteLength)) return fail(`packet ${i}: truncated (${e.byteLength} bytes declared)`);
    const data = buf.subarray(o, o + e.byteLength);
    o += e.byteLength;
    if (!hasStartCode(data)) return fail(`packet ${i}: not Annex B (no start code)`);
    packets.push({ capturedAt: e.capturedAt, decodeAt: e.decodeAt, key: e.key, data });
  }
  if (o !== buf.length) return fail(`${buf.length - o} trailing bytes`);
  return { ok: true, value: { ...head, packets } };
}

/** An Annex B access unit starts with 00 00 01 or 00 00 00 01. */
function hasStartCode(b: Buffer): boolean {
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0) return false;
  return b[2] === 1 || (b[2] === 0 && b[3] === 1);
}

/** What `vigil.frames` carries: JPEG frames (continuous cameras) or packets (on_demand cameras). */
export type CameraChunk = FrameChunk | PacketChunk;

/** Decodes either envelope by its magic; never throws. */
export function decodeCameraChunk(buf: Buffer): DecodeResult<CameraChunk> {
  return isPacketChunk(buf) ? decodePacketChunk(buf) : decodeFrameChunk(buf);
}

/** A chunk's pictures' times in its own order (capture order for frames, decode order for packets). */
export function chunkTimes(c: CameraChunk): number[] {
  return 'packets' in c ? c.packets.map((p) => p.decodeAt) : c.frames.map((f) => f.capturedAt);
}
