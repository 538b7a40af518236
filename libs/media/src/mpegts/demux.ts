/**
 * Reads the video elementary stream out of an MPEG transport stream (ISO/IEC 13818-1), as
 * ffmpeg writes it with `-c copy -f mpegts`: 188-byte packets, PAT → PMT → the first
 * H.264/H.265 PID, one PES per access unit. Every byte may be hostile, so: no input throws,
 * every loop advances, and the bytes held are at most one unit (maxUnitBytes) plus one packet,
 * besides fixed small buffers (a PSI section, the last packet, ≤ 64 KiB of parameter sets per type).
 */
import { inspect, ParamSets } from './nal.ts';
import { MAX_SECTION, parsePat, parsePmt } from './psi.ts';
import { STREAM_TYPE_H264, SYNC, TS_PACKET } from './types.ts';
import type { AccessUnit, DemuxStats, VideoCodec } from './types.ts';

const DEFAULT_MAX_UNIT = 8 * 1024 * 1024;
/** First size of the reassembly buffer; it doubles up to maxUnitBytes for large pictures. */
const INITIAL_CAPACITY = 256 * 1024;
const EMPTY = Buffer.alloc(0);
const MAX_PAYLOAD = TS_PACKET - 4;

/** Reassembles one PSI section (PAT or PMT) from the packets of its PID, at most MAX_SECTION bytes. */
class SectionReader {
  private readonly buf = Buffer.alloc(MAX_SECTION);
  private len = 0;
  private active = false;

  /** Adds a packet's payload [p, end); returns the section once complete. */
  push(pkt: Buffer, p: number, end: number, pusi: boolean): Buffer | undefined {
    if (pusi) {
      // pointer_field: bytes finishing an earlier section come first; we start afresh.
      p += 1 + pkt[p]!;
      this.len = 0;
      this.active = p < end;
    }
    if (!this.active) return undefined;
    const n = Math.min(end - p, MAX_SECTION - this.len);
    pkt.copy(this.buf, this.len, p, p + n);
    this.len += n;
    if (this.len < 3) return undefined;
    const total = 3 + (((this.buf[1]! & 0x0f) << 8) | this.buf[2]!);
    // table_id 0xFF is stuffing: no section follows in this packet.
    if (this.buf[0] === 0xff || total > MAX_SECTION) this.active = false;
    else if (this.len >= total) {
      this.active = false;
      return this.buf.subarray(0, total);
    }
    return undefined;
  }

  reset(): void {
    this.active = false;
    this.len = 0;
  }
}

/** A 33-bit PES timestamp at a[p..p+5), or -1 if a marker bit is 0 (a damaged or forged header). */
function readTimestamp(a: Buffer, p: number): number {
  const b0 = a[p]!;
  const b2 = a[p + 2]!;
  const b4 = a[p + 4]!;
  if ((b0 & b2 & b4 & 1) === 0) return -1;
  // Top 3 bits multiplied in: 33 bits do not fit JavaScript's 32-bit bitwise operators.
  return ((b0 >> 1) & 7) * 2 ** 30 + ((a[p + 1]! << 22) | ((b2 >> 1) << 15) | (a[p + 3]! << 7) | (b4 >> 1));
}

export class TsDemuxer {
  readonly stats: DemuxStats = { packets: 0, units: 0, resyncs: 0, dropped: 0 };
  private readonly maxUnit: number;
  private error: string | undefined;

  // Packet framing: `carry` holds the start of a packet split across pushes (≤ 188 bytes).
  private carry: Buffer = EMPTY;
  private synced = false;
  /** Bytes are being skipped to find sync; counts one resync per run of garbage. */
  private skipping = false;

  // Program tables.
  private readonly pat = new SectionReader();
  private readonly pmt = new SectionReader();
  private program = -1;
  private pmtPid = -1;
  private videoPid = -1;
  private videoCodec: VideoCodec | undefined;
  private unsupported: number | undefined;
  private params: ParamSets | undefined;

  // PES reassembly on the video PID.
  private asm: Buffer = EMPTY;
  private asmLen = 0;
  private assembling = false;
  /** PES_packet_length once read (0 = unbounded, ends at the next unit start), -1 before. */
  private pesLen = -1;
  private lastCc = -1;
  /** The previous video packet's payload, to tell a permitted duplicate packet from a loss. */
  private readonly lastPayload = Buffer.alloc(MAX_PAYLOAD);
  private lastPayloadLen = -1;

  constructor(opts?: { maxUnitBytes?: number }) {
    const max = opts?.maxUnitBytes;
    this.maxUnit = max !== undefined && Number.isFinite(max) && max >= 1 ? Math.floor(max) : DEFAULT_MAX_UNIT;
  }

  get codec(): VideoCodec | undefined {
    return this.videoCodec;
  }

  get unsupportedStreamType(): number | undefined {
    return this.unsupported;
  }

  get lastError(): string | undefined {
    return this.error;
  }

  /** Bytes held between calls: the unit being assembled plus a partial packet. */
  get bufferedBytes(): number {
    return this.asmLen + this.carry.length;
  }

  /** Feeds bytes split anywhere; returns the access units completed so far, in stream (decode) order. Never throws. */
  push(buf: Buffer): AccessUnit[] {
    const out: AccessUnit[] = [];
    try {
      this.feed(buf, out);
    } catch (e) {
      // A bug here must not take the camera down: forget the state that met it and go on.
      this.error = `internal error: ${(e as Error).message}`;
      this.resetStream();
    }
    return out;
  }

  /** Ends the stream: returns the unit still being assembled, if complete enough to use. */
  flush(): AccessUnit[] {
    const out: AccessUnit[] = [];
    try {
      // A last packet that arrived whole but had no next packet to confirm its sync.
      if (!this.synced && this.carry.length === TS_PACKET && this.carry[0] === SYNC) this.packet(this.carry, 0, out);
      if (this.assembling) this.finish(out);
    } catch (e) {
      this.error = `internal error: ${(e as Error).message}`;
    }
    this.resetStream();
    return out;
  }

  private resetStream(): void {
    this.carry = EMPTY;
    this.synced = false;
    this.skipping = false;
    this.assembling = false;
    this.asmLen = 0;
    this.shrink();
    this.lastCc = -1;
    this.lastPayloadLen = -1;
    this.pat.reset();
    this.pmt.reset();
  }

  private feed(chunk: Buffer, out: AccessUnit[]): void {
    let b = chunk;
    let i = 0;
    if (this.carry.length > 0) {
      const need = TS_PACKET - this.carry.length;
      if (this.synced && need > 0 && this.carry[0] === SYNC) {
        if (chunk.length < need) {
          this.carry = Buffer.concat([this.carry, chunk]);
          return;
        }
        // Only the packet cut by the read is joined; the rest of the chunk is read where it lies
        // (joining the whole chunk copied every byte of the stream once more).
        this.packet(Buffer.concat([this.carry, chunk.subarray(0, need)], TS_PACKET), 0, out);
        this.carry = EMPTY;
        i = need;
      } else {
        b = Buffer.concat([this.carry, chunk]);
        this.carry = EMPTY;
      }
    }
    const n = b.length;
    for (;;) {
      if (this.synced) {
        if (i + TS_PACKET > n) break;
        if (b[i] === SYNC) {
          this.packet(b, i, out);
          i += TS_PACKET;
          continue;
        }
        this.synced = false;
      }
      // A lone 0x47 proves nothing in random bytes: take one whose next packet starts with one too.
      let j = b.indexOf(SYNC, i);
      while (j !== -1 && j + TS_PACKET < n && b[j + TS_PACKET] !== SYNC) j = b.indexOf(SYNC, j + 1);
      const at = j === -1 ? n : j;
      if (at > i && !this.skipping) {
        this.skipping = true;
        this.stats.resyncs++;
        this.error = 'lost packet sync: skipped bytes to find it';
      }
      i = at;
      // No candidate, or one whose confirmation has not arrived yet: wait for more bytes.
      if (j === -1 || j + TS_PACKET >= n) break;
      this.synced = true;
      this.skipping = false;
    }
    // A copy: holding a view would keep the caller's whole chunk alive.
    if (i < n) this.carry = Buffer.from(b.subarray(i));
  }

  private packet(b: Buffer, o: number, out: AccessUnit[]): void {
    this.stats.packets++;
    const pid = ((b[o + 1]! & 0x1f) << 8) | b[o + 2]!;
    if (pid === this.videoPid) this.video(b, o, out);
    else if (pid === 0 || pid === this.pmtPid) this.psi(b, o, pid);
  }

  /** Payload start of the packet at o, or -1 when it has none we may read. */
  private static payloadStart(b: Buffer, o: number): number {
    const b3 = b[o + 3]!;
    const afc = (b3 >> 4) & 3;
    // Reserved control 0 or adaptation field only: nothing to read. Scrambled: nothing readable.
    if ((afc & 1) === 0 || (b3 & 0xc0) !== 0) return -1;
    if (afc === 1) return o + 4;
    const afl = b[o + 4]!;
    return afl > 182 ? -1 : o + 5 + afl;
  }

  private psi(b: Buffer, o: number, pid: number): void {
    if (b[o + 1]! & 0x80) return; // transport_error_indicator: the CRC would fail anyway
    const p = TsDemuxer.payloadStart(b, o);
    if (p < 0) return;
    const reader = pid === 0 ? this.pat : this.pmt;
    const s = reader.push(b, p, o + TS_PACKET, (b[o + 1]! & 0x40) !== 0);
    if (s === undefined) return;
    if (pid === 0) this.onPat(s);
    else this.onPmt(s);
  }

  private onPat(s: Buffer): void {
    const r = parsePat(s);
    if (typeof r === 'string') {
      this.error = r;
      return;
    }
    if (r.program === this.program && r.pmtPid === this.pmtPid) return;
    this.program = r.program;
    this.pmtPid = r.pmtPid;
    this.pmt.reset();
  }

  private onPmt(s: Buffer): void {
    const r = parsePmt(s, this.program);
    if (typeof r === 'string') {
      this.error = r;
      return;
    }
    const codec: VideoCodec | undefined = r.pid === undefined ? undefined : r.streamType === STREAM_TYPE_H264 ? 'h264' : 'hevc';
    this.unsupported = r.unsupported;
    if (r.pid === this.videoPid && codec === this.videoCodec) return;
    // A different stream: what was being assembled belongs to the old one, maybe cut short.
    if (this.assembling) this.drop('video stream changed');
    this.videoPid = r.pid ?? -1;
    this.videoCodec = codec;
    this.params = codec === undefined ? undefined : new ParamSets(codec);
    this.lastCc = -1;
    this.lastPayloadLen = -1;
  }

  private video(b: Buffer, o: number, out: AccessUnit[]): void {
    const b1 = b[o + 1]!;
    const b3 = b[o + 3]!;
    if (b1 & 0x80) return this.damaged('transport_error_indicator set');
    const afc = (b3 >> 4) & 3;
    if (afc === 0) return; // reserved: decoders discard such packets
    let p = o + 4;
    let discontinuity = false;
    if (afc & 2) {
      const afl = b[p]!;
      if (afl > (afc === 3 ? 182 : 183)) return this.damaged(`adaptation_field_length ${afl}`);
      discontinuity = afl > 0 && (b[p + 1]! & 0x80) !== 0;
      p += 1 + afl;
    }
    if ((afc & 1) === 0) return; // adaptation field only: no payload, the counter does not advance
    const end = o + TS_PACKET;
    const cc = b3 & 0x0f;
    if (this.lastCc >= 0 && !discontinuity && cc !== ((this.lastCc + 1) & 0x0f)) {
      // The standard allows a packet to be sent twice; anything else means packets were lost.
      if (cc === this.lastCc && this.sameAsLast(b, p, end)) return;
      this.drop(`continuity counter ${this.lastCc} then ${cc}`);
    }
    this.lastCc = cc;
    b.copy(this.lastPayload, 0, p, end);
    this.lastPayloadLen = end - p;
    if (b3 & 0xc0) {
      // Scrambled: the header still says where units start, but this one cannot be read.
      if (b1 & 0x40) {
        if (this.assembling) this.finish(out);
        this.stats.dropped++;
      } else this.drop('scrambled video packet');
      this.error = 'scrambled video packet';
      return;
    }
    if (b1 & 0x40) {
      // payload_unit_start_indicator: a new PES, so the previous one (length 0) is complete.
      if (this.assembling) this.finish(out);
      this.assembling = true;
      this.asmLen = 0;
      this.pesLen = -1;
    }
    if (this.assembling) this.append(b, p, end, out);
  }

  private sameAsLast(b: Buffer, p: number, end: number): boolean {
    return end - p === this.lastPayloadLen && b.compare(this.lastPayload, 0, this.lastPayloadLen, p, end) === 0;
  }

  private append(b: Buffer, p: number, end: number, out: AccessUnit[]): void {
    const n = end - p;
    if (this.asmLen + n > this.maxUnit) return this.drop(`PES over ${this.maxUnit} bytes`);
    if (this.asmLen + n > this.asm.length) {
      const cap = Math.min(this.maxUnit, Math.max(this.asmLen + n, this.asm.length * 2, INITIAL_CAPACITY));
      const grown = Buffer.allocUnsafe(cap);
      this.asm.copy(grown, 0, 0, this.asmLen);
      this.asm = grown;
    }
    b.copy(this.asm, this.asmLen, p, end);
    this.asmLen += n;
    const a = this.asm;
    if (this.pesLen < 0 && this.asmLen >= 6) {
      if (a[0] !== 0 || a[1] !== 0 || a[2] !== 1) return this.drop('PES without a start code');
      this.pesLen = a.readUInt16BE(4);
      if (6 + this.pesLen > this.maxUnit) return this.drop(`PES_packet_length ${this.pesLen} over ${this.maxUnit} bytes`);
    }
    if (this.pesLen > 0 && this.asmLen >= 6 + this.pesLen) this.finish(out);
  }

  /** A packet of the unit was damaged or lost: the unit cannot be trusted. */
  private damaged(reason: string): void {
    this.drop(reason);
    this.lastCc = -1;
  }

  /** Abandons the unit being assembled (counted once); later packets wait for the next unit start. */
  private drop(reason: string): void {
    this.error = reason;
    if (!this.assembling) return;
    this.stats.dropped++;
    this.assembling = false;
    this.asmLen = 0;
    this.shrink();
  }

  /** After a large unit, lets the buffer go rather than hold up to maxUnitBytes for good. */
  private shrink(): void {
    if (this.asm.length > 4 * INITIAL_CAPACITY) this.asm = EMPTY;
  }

  /** A copy of a unit (not Buffer.from(view): its array-like path is 6–7× slower for a 200 KB unit, Node 20). */
  private copyOf(b: Buffer): Buffer {
    const c = Buffer.allocUnsafe(b.length);
    b.copy(c);
    return c;
  }

  /** Ends the unit being assembled: parses its PES header and NAL units, then emits or drops it. */
  private finish(out: AccessUnit[]): void {
    const a = this.asm;
    const len = this.asmLen;
    this.assembling = false;
    this.asmLen = 0;
    const reject = (reason: string) => {
      this.error = reason;
      this.stats.dropped++;
      this.shrink();
    };
    // '10' after the 6 fixed bytes: the optional header that every video PES has.
    if (len < 9 || (a[6]! & 0xc0) !== 0x80) return reject('malformed PES header');
    const end = this.pesLen > 0 ? 6 + this.pesLen : len;
    if (end > len) return reject('PES shorter than its PES_packet_length');
    const from = 9 + a[8]!;
    if (from > end) return reject('PES_header_data_length past the PES');
    const flags = a[7]! >> 6;
    const headerLen = a[8]!;
    let pts: number;
    let dts: number;
    if (flags === 2 && headerLen >= 5) pts = dts = readTimestamp(a, 9);
    else if (flags === 3 && headerLen >= 10) {
      pts = readTimestamp(a, 9);
      dts = readTimestamp(a, 14);
    } else return reject(flags === 0 ? 'PES without PTS' : 'malformed PTS_DTS_flags');
    if (pts < 0 || dts < 0) return reject('PTS/DTS marker bit not set');
    const es = a.subarray(from, end);
    const info = inspect(this.videoCodec!, es);
    if (info.vcl < 0) {
      // NAL units but no picture (parameter sets on their own): not a unit, but worth keeping.
      if (info.nals.length === 0) return reject('PES without a coded picture');
      this.params!.remember(es, info);
      return this.shrink();
    }
    const data = this.params!.apply(es, info);
    // `es` is a view on the reassembly buffer, which the next unit overwrites.
    out.push({ pts, dts, key: info.key, data: data === es ? this.copyOf(es) : data });
    this.stats.units++;
    this.shrink();
  }
}
