import type { CameraConfig } from '@vigil/config';
export { sourceUrl } from '@vigil/config';
import { redactUrl, scrubber, type Scrub } from '@vigil/observability';

/** The camera's URL as it may be shown: credentials replaced by `***`. */
export function displayUrl(cam: CameraConfig): string {
  return redactUrl(cam.url);
}

/**
 * Makes text about a camera safe to log or publish: URLs lose their credentials, and the
 * camera's password is replaced wherever it appears (ffmpeg may echo it decoded).
 */
export function scrubberFor(cam: CameraConfig): Scrub {
  const inUrl = (url: string | undefined) => {
    try {
      return url ? new URL(url).password : undefined;
    } catch {
      return undefined; // an invalid URL: redaction still masks its userinfo
    }
  };
  return scrubber([cam.password, inUrl(cam.url), inUrl(cam.detectUrl)]);
}
