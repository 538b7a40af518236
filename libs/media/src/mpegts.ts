/**
 * MPEG transport stream for H.264/H.265 video: a demuxer that turns ffmpeg's
 * `-c copy -f mpegts` output into access units without decoding, and a muxer that writes
 * chosen units back for an ffmpeg decoder. The pieces live in ./mpegts/.
 */
export type { AccessUnit, DemuxStats, VideoCodec } from './mpegts/types.ts';
export { TsDemuxer } from './mpegts/demux.ts';
export { TsMuxer } from './mpegts/mux.ts';
