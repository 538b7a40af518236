/** Height of the black timestamp band under each frame (Cosmos-Reason1's reference tooling). */
export const BAND_HEIGHT = 28;

const FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';

/**
 * ffmpeg filters that resample to `fps` and scale to `width` (height a multiple of 16, so
 * infer can splice a per-window timestamp band under the frame: see @vigil/media's
 * BandSplicer). With `band`, ffmpeg burns a band itself instead: white monospace `S.SSs`,
 * alternating left and right on even/odd frames, counted from the stream's first frame.
 */
export function frameFilters(fps: number, width: number, opts: { band?: boolean; font?: string } = {}): string {
  const base = [`setpts=PTS-STARTPTS`, `fps=${fps}`, `scale=${width}:-16:flags=fast_bilinear`];
  if (opts.band === false) return base.join(',');
  const text = `%{eif\\:floor(t)\\:d}.%{eif\\:mod(t*100,100)\\:d\\:2}s`;
  const drawtext = [
    `fontfile=${opts.font ?? FONT}`,
    'fontsize=20',
    'fontcolor=white',
    `x='if(eq(mod(n,2),0),8,w/2+8)'`,
    'y=h-24',
    `text='${text}'`,
  ].join(':');
  return [...base, `pad=iw:ih+${BAND_HEIGHT}:0:0:black`, `drawtext=${drawtext}`].join(',');
}
