/**
 * Writes access units as a transport stream an ffmpeg decoder reads from a pipe
 * (`ffmpeg -copyts -f mpegts -i pipe:0`): one program, one video PID, one PES per unit.
 * PAT and PMT precede every key unit so a reader can join at any of them.
 */
import { buildSection } from './psi.ts';
import { STREAM_TYPE_H264, STREAM_TYPE_HEVC, SYNC, TS_PACKET, TS_WRAP } from './types.ts';
import type { VideoCodec } from './types.ts';

const PMT_PID = 0x1000;
const VIDEO_PID = 0x100;
const PROGRAM = 1;
const MAX_PAYLOAD = TS_PACKET - 4;
/** 9 fixed bytes + PTS + DTS. */
const PES_HEADER = 19;
/** Adaptation field with a PCR: length byte, flags, 6 PCR bytes. */
const PCR_FIELD = 8;

function psiPacket(pid: number, section: Buffer): Buffer {
  const p = Buffer.alloc(TS_PACKET, 0xff);
  p[0] = SYNC;
  p[1] = 0x40 | (pid >> 8); // payload_unit_start_indicator
  p[2] = pid & 0xff;
  p[3] = 0x10; // payload only; the counter is filled in per use
  p[4] = 0; // pointer_field: the section starts right here
  section.copy(p, 5);
  return p;
}

/** A PTS or DTS in the PES header's 5-byte layout, with its 4-bit prefix and marker bits. */
function writeTimestamp(b: Buffer, at: number, prefix: number, v: number): void {
  const hi = Math.floor(v / 2 ** 30); // top 3 bits; the rest fits 32-bit operators
  const lo = v % 2 ** 30;
  b[at] = (prefix << 4) | (hi << 1) | 1;
  b[at + 1] = (lo >> 22) & 0xff;
  b[at + 2] = (((lo >> 15) & 0x7f) << 1) | 1;
  b[at + 3] = (lo >> 7) & 0xff;
  b[at + 4] = ((lo & 0x7f) << 1) | 1;
}

function checkTimestamp(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= TS_WRAP) throw new RangeError(`${name} ${v} is not a 33-bit 90 kHz timestamp`);
}

export class TsMuxer {
  private readonly pat: Buffer;
  private readonly pmt: Buffer;
  private patCc = 0;
  private pmtCc = 0;
  private videoCc = 0;
  private started = false;

  constructor(codec: VideoCodec) {
    const pat = Buffer.alloc(4);
    pat.writeUInt16BE(PROGRAM, 0);
    pat.writeUInt16BE(0xe000 | PMT_PID, 2);
    this.pat = psiPacket(0, buildSection(0x00, 1, pat));
    const pmt = Buffer.alloc(9);
    pmt.writeUInt16BE(0xe000 | VIDEO_PID, 0); // PCR_PID
    pmt.writeUInt16BE(0xf000, 2); // program_info_length 0
    pmt[4] = codec === 'h264' ? STREAM_TYPE_H264 : STREAM_TYPE_HEVC;
    pmt.writeUInt16BE(0xe000 | VIDEO_PID, 5);
    pmt.writeUInt16BE(0xf000, 7); // ES_info_length 0
    this.pmt = psiPacket(PMT_PID, buildSection(0x02, PROGRAM, pmt));
  }

  /** One access unit as 188-byte TS packets. Throws RangeError on a timestamp that is not a non-negative integer < 2^33. */
  mux(au: { pts: number; dts: number; key: boolean; data: Buffer }): Buffer {
    checkTimestamp('pts', au.pts);
    checkTimestamp('dts', au.dts);
    const withTables = !this.started || au.key;
    this.started = true;
    const total = PES_HEADER + au.data.length;
    const first = au.key ? MAX_PAYLOAD - PCR_FIELD : MAX_PAYLOAD;
    const count = (withTables ? 2 : 0) + 1 + Math.ceil(Math.max(0, total - first) / MAX_PAYLOAD);
    const out = Buffer.allocUnsafe(count * TS_PACKET);
    let o = 0;
    if (withTables) {
      this.pat.copy(out, o);
      out[o + 3] = 0x10 | this.patCc;
      this.patCc = (this.patCc + 1) & 0x0f;
      this.pmt.copy(out, o + TS_PACKET);
      out[o + TS_PACKET + 3] = 0x10 | this.pmtCc;
      this.pmtCc = (this.pmtCc + 1) & 0x0f;
      o += 2 * TS_PACKET;
    }
    const pes = Buffer.allocUnsafe(PES_HEADER);
    pes.writeUIntBE(0x000001e0, 0, 4); // start code, stream_id video 0
    pes.writeUInt16BE(0, 4); // PES_packet_length 0: unbounded, as ffmpeg writes video
    pes[6] = 0x84; // '10', data_alignment_indicator: the PES starts with the unit
    pes[7] = 0xc0; // PTS and DTS
    pes[8] = 10;
    writeTimestamp(pes, 9, 0x3, au.pts);
    writeTimestamp(pes, 14, 0x1, au.dts);
    // Bytes of the PES written so far: the header comes from `pes`, the rest from the unit.
    let done = 0;
    for (let k = 0; o < out.length; k++, o += TS_PACKET) {
      const pcr = au.key && k === 0;
      const room = MAX_PAYLOAD - (pcr ? PCR_FIELD : 0);
      const n = Math.min(room, total - done);
      out[o] = SYNC;
      out[o + 1] = (k === 0 ? 0x40 : 0) | (VIDEO_PID >> 8);
      out[o + 2] = VIDEO_PID & 0xff;
      // The adaptation field carries the PCR and, in the last packet, the stuffing.
      const afBytes = MAX_PAYLOAD - n;
      out[o + 3] = (afBytes > 0 ? 0x30 : 0x10) | this.videoCc;
      this.videoCc = (this.videoCc + 1) & 0x0f;
      let p = o + 4;
      if (afBytes > 0) {
        out[p] = afBytes - 1; // adaptation_field_length
        if (afBytes > 1) {
          out[p + 1] = pcr ? 0x50 : 0; // random_access_indicator + PCR_flag on key units
          let q = p + 2;
          if (pcr) {
            // PCR base = DTS: the unit is due at once; extension 0. Reserved bits are ones.
            const hi = Math.floor(au.dts / 2);
            out.writeUInt32BE(hi >>> 0, q);
            out[q + 4] = ((au.dts % 2) << 7) | 0x7e;
            out[q + 5] = 0;
            q += 6;
          }
          out.fill(0xff, q, p + afBytes);
        }
        p += afBytes;
      }
      const fromHeader = Math.max(0, Math.min(n, PES_HEADER - done));
      if (fromHeader > 0) pes.copy(out, p, done, done + fromHeader);
      if (n > fromHeader) au.data.copy(out, p + fromHeader, done + fromHeader - PES_HEADER, done + n - PES_HEADER);
      done += n;
    }
    return out;
  }
}
