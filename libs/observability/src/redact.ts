/**
 * The one redactor: every URL, error text and log line that may carry a secret passes here
 * before it leaves the process (logs, metrics, API replies, bus messages, the dashboard).
 */

/** Query parameter names whose values are secrets (`?pwd=…`, `&access_token=…`, `sig=…`). */
const SECRET_PARAM = /pass|pwd|secret|token|key|auth|sig|session|credential|cookie/i;

/**
 * Replaces credentials in a URL: `rtsp://admin:p@ss@host/s?pwd=x` → `rtsp://admin:***@host/s?pwd=***`.
 * The userinfo runs to the LAST `@` before the path (passwords may hold `@`, as ffmpeg
 * accepts them); where a password holds `/` the URL is ambiguous, so everything up to the
 * last `@` before any `?` or `#` is treated as userinfo: over-redacting is the safe side.
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]{0,31}:\/\/)(.*)$/is.exec(url);
  if (!m) return redactQuery(url);
  const scheme = m[1]!;
  let rest = m[2]!;
  const queryAt = rest.search(/[?#]/);
  const beforeQuery = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const at = beforeQuery.lastIndexOf('@');
  let userinfo = '';
  if (at >= 0) {
    // A user before a colon is shown; userinfo without one may itself be a token.
    const info = beforeQuery.slice(0, at);
    const colon = info.indexOf(':');
    const user = colon > 0 && !info.slice(0, colon).includes('/') ? info.slice(0, colon) : '';
    userinfo = `${user ? `${user}:***` : '***'}@`;
    rest = rest.slice(at + 1);
  }
  return `${scheme}${userinfo}${redactQuery(rest)}`;
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
