import type { CameraConfig } from './types.ts';

/**
 * The URL ffmpeg opens, with the camera's `username`/`password` put in (they replace any
 * in the URL); undefined when the URL cannot be parsed or has no host.
 */
export function sourceUrl(cam: CameraConfig, url = cam.url): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol === 'file:') return u.pathname ? url : undefined;
  if (!u.hostname) return undefined;
  if (cam.username === undefined && cam.password === undefined) return url;
  u.username = encodeURIComponent(cam.username ?? decodeURIComponent(u.username));
  u.password = encodeURIComponent(cam.password ?? '');
  return u.href;
}
