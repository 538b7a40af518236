import type { CameraConfig } from '@vigil/config';
import { redactText, redactUrl } from '@vigil/observability';

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

/** Every form in which the camera's password could appear in text (raw and URL-encoded). */
function secretsOf(cam: CameraConfig): string[] {
  const found = new Set<string>();
  const add = (s: string | undefined) => {
    if (!s) return;
    found.add(s);
    found.add(encodeURIComponent(s));
    try {
      found.add(decodeURIComponent(s));
    } catch {
      // not URL-encoded: the raw form is already in
    }
  };
  add(cam.password);
  try {
    add(new URL(cam.url).password);
  } catch {
    // an invalid URL: redactText still masks its userinfo
  }
  // Very short strings would mangle unrelated text; URL redaction already covers them.
  return [...found].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * Makes text about a camera safe to log or publish: URLs lose their credentials, and the
 * camera's password is replaced wherever it appears (ffmpeg may echo it decoded).
 */
export function scrubberFor(cam: CameraConfig): (text: string) => string {
  const secrets = secretsOf(cam);
  return (text) => {
    let out = redactText(text);
    for (const s of secrets) out = out.split(s).join('***');
    return out;
  };
}
