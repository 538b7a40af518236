import type { CameraConfig } from '@vigil/config';
import { redactUrl, scrubber, type Scrub } from '@vigil/observability';

/**
 * The URL ffmpeg opens, with the camera's `username`/`password` put in (they replace any
 * in the URL); undefined when the URL cannot be parsed or has no host.
 */
export function sourceUrl(cam: CameraConfig): string | undefined {
  let u: URL;
  try {
    u = new URL(cam.url);
  } catch {
    return undefined;
  }
  if (u.protocol === 'file:') return u.pathname ? cam.url : undefined;
  if (!u.hostname) return undefined;
  if (cam.username === undefined && cam.password === undefined) return cam.url;
  u.username = encodeURIComponent(cam.username ?? decodeURIComponent(u.username));
  u.password = encodeURIComponent(cam.password ?? '');
  return u.href;
}

/** The camera's URL as it may be shown: credentials replaced by `***`. */
export function displayUrl(cam: CameraConfig): string {
  return redactUrl(cam.url);
}

/**
 * Makes text about a camera safe to log or publish: URLs lose their credentials, and the
 * camera's password is replaced wherever it appears (ffmpeg may echo it decoded).
 */
export function scrubberFor(cam: CameraConfig): Scrub {
  let inUrl: string | undefined;
  try {
    inUrl = new URL(cam.url).password;
  } catch {
    // an invalid URL: redaction still masks its userinfo
  }
  return scrubber([cam.password, inUrl]);
}
