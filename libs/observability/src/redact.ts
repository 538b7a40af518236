/**
 * The one redactor: every URL, error text and log line that may carry a secret passes here
 * before it leaves the process (logs, metrics, API replies, bus messages, the dashboard).
 */

/** Query parameter names whose values are secrets (`?pwd=…`, `&access_token=…`, `sig=…`). */
const SECRET_PARAM = /pass|pwd|secret|token|key|auth|sig|session|credential|cookie/i;

/**
 * Where a URL's userinfo ends: at the LAST `@` before the query. Passwords hold `@`, `/` and
 * `#` in the wild (ffmpeg wants them percent-encoded, users do not always); over-redacting a
 * rare `@` in a path is the safe side of that ambiguity.
 */
function userinfoEnd(rest: string): number {
  const q = rest.indexOf('?');
  return (q < 0 ? rest : rest.slice(0, q)).lastIndexOf('@');
}

/** A URL's userinfo split as `userinfoEnd` reads it; undefined when it has none. */
export function urlCredentials(url: string): { user: string; password: string } | undefined {
  const m = /^[a-z][a-z0-9+.-]{0,31}:\/\/(.*)$/is.exec(url);
  const at = m ? userinfoEnd(m[1]!) : -1;
  if (at < 0) return undefined;
  const info = m![1]!.slice(0, at);
  const colon = info.indexOf(':');
  return colon < 0 ? { user: '', password: info } : { user: info.slice(0, colon), password: info.slice(colon + 1) };
}

/** Replaces credentials in a URL: `rtsp://admin:p@ss@host/s?pwd=x` → `rtsp://admin:***@host/s?pwd=***`. */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]{0,31}:\/\/)(.*)$/is.exec(url);
  if (!m) return redactQuery(url);
  const rest = m[2]!;
  const at = userinfoEnd(rest);
  if (at < 0) return `${m[1]}${redactQuery(rest)}`;
  // A user before a colon is shown; userinfo without one may itself be a token.
  const cred = urlCredentials(url)!;
  const user = cred.user && !/[/#]/.test(cred.user) ? cred.user : '';
  return `${m[1]}${user ? `${user}:***` : '***'}@${redactQuery(rest.slice(at + 1))}`;
}

/** Masks the values of secret-looking query parameters (`pwd=***`). */
function redactQuery(s: string): string {
  return s.replace(/([?&;])([^=&#;?\s]*)=([^&#;\s]*)/g, (all, sep: string, name: string) => (SECRET_PARAM.test(name) ? `${sep}${name}=***` : all));
}

/** Redacts every URL found inside free text (an ffmpeg error line, a driver's message). */
export function redactText(text: string): string {
  // The scheme is bounded so a long run of letters costs linear time, not quadratic.
  return text.replace(/[a-z][a-z0-9+.-]{0,31}:\/\/[^\s'"<>`]+/gi, (u) => redactUrl(u));
}

/**
 * Every form in which a secret could appear in text: raw, URL-encoded and URL-decoded.
 * Strings under 4 characters are left out: replacing them would mangle unrelated text, and
 * where they matter (URL userinfo, secret parameters) `redactText` already masks them.
 */
export function secretForms(secrets: Iterable<string | undefined>): string[] {
  const found = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    found.add(s);
    found.add(encodeURIComponent(s));
    found.add(JSON.stringify(s).slice(1, -1)); // as it appears inside a JSON log line
    try {
      found.add(decodeURIComponent(s));
    } catch {
      // not URL-encoded: the raw form is already in
    }
  }
  return [...found].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/** Text made safe to show: URL credentials masked, then each known secret replaced by `***`. */
export type Scrub = (text: string) => string;

/** A scrubber for the given secrets (camera passwords, tokens, API keys…); see `secretForms`. */
export function scrubber(secrets: Iterable<string | undefined>): Scrub {
  const forms = secretForms(secrets);
  return (text) => {
    let out = redactText(text);
    for (const s of forms) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  };
}
