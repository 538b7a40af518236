import { isDuration, parseDuration } from '@vigil/config';

/** How a suite file may write a clip time (said in error messages). */
export const CLIP_TIME_FORMS = '"m:ss", "h:mm:ss", "m:ss.sss", seconds (12.5) or a duration ("12s", "500ms")';

// m:ss, h:mm:ss, either with a fraction of a second.
const CLOCK = /^(?:(\d+):([0-5]\d):|(\d+):)([0-5]\d(?:\.\d+)?)$/;
const SECONDS = /^\d+(?:\.\d+)?$/;

/** A clip time (milliseconds from the first frame), or undefined when `v` is not one (negative included). */
export function parseClipTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (SECONDS.test(s)) return Math.round(Number(s) * 1000);
  if (isDuration(s)) return Math.round(parseDuration(s));
  const m = CLOCK.exec(s);
  if (!m) return undefined;
  const [, h, mm, m2, ss] = m;
  const minutes = h !== undefined ? Number(h) * 60 + Number(mm) : Number(m2);
  return Math.round((minutes * 60 + Number(ss)) * 1000);
}

/** Clip milliseconds as m:ss.s (h:mm:ss.s past an hour), for reports. */
export function formatClipTime(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const tenths = Math.round(Math.abs(ms) / 100);
  const s = (tenths % 600) / 10;
  const totalMinutes = Math.floor(tenths / 600);
  const secs = `${s < 10 ? '0' : ''}${s.toFixed(1)}`;
  if (totalMinutes < 60) return `${sign}${totalMinutes}:${secs}`;
  const m = totalMinutes % 60;
  return `${sign}${Math.floor(totalMinutes / 60)}:${m < 10 ? '0' : ''}${m}:${secs}`;
}
