export type VideoCodec = 'h264' | 'hevc';

/** One coded picture of the video elementary stream, Annex B (start codes). */
export interface AccessUnit {
  /** Presentation / decode timestamps, 90 kHz, exactly as in the PES header (33-bit, not unwrapped). dts = pts when the PES has no DTS. */
  pts: number;
  dts: number;
  /** A decoder can start here: H.264 IDR (nal_unit_type 5); H.265 IRAP (nal_unit_type 16..21). Decided from the NAL units, not the adaptation field. */
  key: boolean;
  /** Annex B bytes. On a key unit that lacks parameter sets (H.264 SPS 7/PPS 8; H.265 VPS 32/SPS 33/PPS 34), the latest ones seen earlier in the stream are prepended so that a decoder can start at any key unit. */
  data: Buffer;
}

export interface DemuxStats {
  /** 188-byte packets read (every PID). */
  packets: number;
  /** Access units returned. */
  units: number;
  /** Times bytes had to be skipped to find the 0x47 sync byte again. */
  resyncs: number;
  /** Units lost: damaged (continuity, transport error, bad adaptation field), malformed PES header, oversized, or no coded picture. */
  dropped: number;
}

export const TS_PACKET = 188;
export const SYNC = 0x47;
/** 2^33: PTS, DTS and the PCR base are 33-bit counters. */
export const TS_WRAP = 8589934592;

/** stream_type values (ISO/IEC 13818-1 table 2-34 and later amendments). */
export const STREAM_TYPE_H264 = 0x1b;
export const STREAM_TYPE_HEVC = 0x24;
/** Other video stream types, reported as unsupported rather than ignored. */
export const OTHER_VIDEO_TYPES: ReadonlySet<number> = new Set([
  0x01, // MPEG-1 video
  0x02, // MPEG-2 video
  0x10, // MPEG-4 part 2
  0x1e, // auxiliary video (ISO 23002-3)
  0x20, // H.264 MVC sub-bitstream
  0x21, // JPEG 2000
  0x33, // H.266 / VVC
  0x42, // AVS (China)
  0xd1, // Dirac
  0xd2, // AVS2
  0xd4, // AVS3
  0xea, // VC-1
]);
