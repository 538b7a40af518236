/**
 * Program-specific information: the PAT and PMT sections that say which PID carries the
 * video. Parsing checks every length against the bytes present and the CRC, so a damaged
 * or forged table is ignored rather than followed.
 */
import { OTHER_VIDEO_TYPES, STREAM_TYPE_H264, STREAM_TYPE_HEVC } from './types.ts';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 (MSB first, no final xor): a whole section including its CRC gives 0. */
export function crc32mpeg(buf: Buffer, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ buf[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

/** section_length is 12 bits but PAT/PMT may not exceed 1021 (so a section fits 1024 bytes). */
export const MAX_SECTION = 1024;

/** Checks the common long-form header and CRC; returns the section's total length or a reason. */
function checkSection(s: Buffer, tableId: number): number | string {
  if (s.length < 12) return 'short section';
  if (s[0] !== tableId) return `table_id ${s[0]}`;
  if ((s[1]! & 0x80) === 0) return 'section_syntax_indicator 0';
  const total = 3 + (((s[1]! & 0x0f) << 8) | s[2]!);
  if (total < 12 || total > s.length || total > MAX_SECTION) return `section_length ${total - 3}`;
  // current_next_indicator 0: a table announced for later, not in force yet.
  if ((s[5]! & 0x01) === 0) return 'not current';
  if (crc32mpeg(s, 0, total) !== 0) return 'CRC mismatch';
  return total;
}

/** PIDs 0x0000–0x000F are reserved for tables and 0x1FFF is the null packet. */
const usablePid = (pid: number) => pid >= 0x10 && pid < 0x1fff;

/** The first program and its PMT PID (program_number 0 points at the NIT, not a program). */
export function parsePat(s: Buffer): { program: number; pmtPid: number } | string {
  const total = checkSection(s, 0x00);
  if (typeof total === 'string') return `PAT: ${total}`;
  for (let p = 8; p + 4 <= total - 4; p += 4) {
    const program = s.readUInt16BE(p);
    const pmtPid = ((s[p + 2]! & 0x1f) << 8) | s[p + 3]!;
    if (program !== 0) return usablePid(pmtPid) ? { program, pmtPid } : `PAT: PMT PID ${pmtPid}`;
  }
  return 'PAT: no program';
}

export interface PmtVideo {
  /** PID and stream_type of the first H.264/H.265 stream, if any. */
  pid?: number;
  streamType?: number;
  /** The first video stream_type we do not handle, when there is no H.264/H.265 stream. */
  unsupported?: number;
}

export function parsePmt(s: Buffer, program: number): PmtVideo | string {
  const total = checkSection(s, 0x02);
  if (typeof total === 'string') return `PMT: ${total}`;
  if (s.readUInt16BE(3) !== program) return `PMT: program ${s.readUInt16BE(3)}, not ${program}`;
  const end = total - 4;
  let p = 12 + (((s[10]! & 0x0f) << 8) | s[11]!);
  let unsupported: number | undefined;
  for (; p + 5 <= end; ) {
    const type = s[p]!;
    const pid = ((s[p + 1]! & 0x1f) << 8) | s[p + 2]!;
    p += 5 + (((s[p + 3]! & 0x0f) << 8) | s[p + 4]!);
    if (p > end) return 'PMT: ES_info_length past the section';
    if (!usablePid(pid)) continue;
    if (type === STREAM_TYPE_H264 || type === STREAM_TYPE_HEVC) return { pid, streamType: type };
    if (unsupported === undefined && OTHER_VIDEO_TYPES.has(type)) unsupported = type;
  }
  return unsupported === undefined ? {} : { unsupported };
}

/** A long-form section with the CRC appended (used by the muxer). */
export function buildSection(tableId: number, idExt: number, body: Buffer): Buffer {
  const s = Buffer.alloc(8 + body.length + 4);
  s[0] = tableId;
  s.writeUInt16BE(0xb000 | (s.length - 3), 1); // syntax 1, '0', reserved '11'
  s.writeUInt16BE(idExt, 3);
  s[5] = 0xc1; // reserved '11', version 0, current_next 1
  s[6] = 0; // section_number
  s[7] = 0; // last_section_number
  body.copy(s, 8);
  s.writeUInt32BE(crc32mpeg(s, 0, s.length - 4), s.length - 4);
  return s;
}
