import { hasSoi, isFrameHeader, nextSegment } from './jpeg/headers.ts';

/** Thrown and caught within jpegSize: one instance, so a bad frame costs no stack trace. */
const NOT_JPEG = new Error('not a JPEG');
const notJpeg = (): never => {
  throw NOT_JPEG;
};

/**
 * Reads width and height from a JPEG's frame header (any SOFn) without decoding it or
 * checking anything else; undefined when the segments before the scan do not hold one.
 */
export function jpegSize(b: Buffer): { width: number; height: number } | undefined {
  if (!hasSoi(b)) return undefined;
  try {
    for (let p = 2; ; ) {
      const { marker, at, end } = nextSegment(b, p, notJpeg);
      if (isFrameHeader(marker)) return end - at < 9 ? undefined : { height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7) };
      if (marker === 0xda) return undefined;
      p = end;
    }
  } catch (e) {
    if (e === NOT_JPEG) return undefined;
    throw e;
  }
}
