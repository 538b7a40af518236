import { redactText } from '@vigil/observability';

/**
 * Makes ffmpeg's output about a source safe to log: the URL's password is replaced wherever
 * it appears (ffmpeg may print it decoded), then URLs lose their credentials.
 */
export function scrubberFor(url: string): (text: string) => string {
  const secrets = passwordForms(url);
  return (text) => {
    // Passwords first: a raw `@` inside one would otherwise end the URL redaction early.
    for (const s of secrets) text = text.split(s).join('***');
    return redactText(text);
  };
}

function passwordForms(url: string): string[] {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return []; // not a URL: redactText still masks any userinfo
  }
  const forms = new Set([password, encodeURIComponent(password)]);
  try {
    forms.add(decodeURIComponent(password));
  } catch {
    // not valid percent-encoding: the raw form is in already
  }
  // Very short strings would mangle unrelated text; the URL redaction covers them.
  return [...forms].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}
