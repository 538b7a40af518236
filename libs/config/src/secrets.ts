import { urlCredentials } from '@vigil/observability';
import type { VigilConfig } from './types.ts';

/** Config keys whose values are secrets: never echoed in errors, logs or replies. */
export const SECRET_KEYS = /^(password|token|api_key|apiKey|secret|authorization)$/i;

/** The password and secret-looking parameter values inside a URL (nothing when it has none). */
function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  // The redactor's reading of the userinfo, so a URL that `new URL` refuses still yields its password.
  const cred = urlCredentials(url);
  const out = cred ? [cred.password, cred.user && !cred.password ? cred.user : ''] : [];
  try {
    out.push(...[...new URL(url).searchParams].filter(([k]) => /pass|pwd|secret|token|key|auth|sig/i.test(k)).map(([, v]) => v));
  } catch {
    // not a URL: its query cannot be read, and redactText masks secret parameters anyway
  }
  return out.filter(Boolean);
}

/**
 * Every secret a config holds — camera passwords, API tokens, model keys, credentials in
 * service URLs — for the scrubber that guards logs, metrics and replies (see `scrubber`).
 */
export function configSecrets(c: VigilConfig): string[] {
  return [
    c.model.apiKey,
    ...c.model.endpointSettings.flatMap((e) => [e.apiKey, ...urlSecrets(e.url)]),
    ...c.model.endpoints.flatMap(urlSecrets),
    ...urlSecrets(c.postgres?.url),
    ...urlSecrets(c.redis?.url),
    ...urlSecrets(c.nats?.url),
    ...c.kafka?.brokers.flatMap(urlSecrets) ?? [],
    ...c.cameras.flatMap((cam) => [cam.password, ...urlSecrets(cam.url), ...urlSecrets(cam.detectUrl)]),
    ...c.alerts.tokens.map((t) => t.token),
    ...c.alerts.webhooks.flatMap((w) => [w.token, ...urlSecrets(w.url)]),
    c.mqtt?.password,
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/** Secrets in a config not yet validated: values under secret keys, and URL credentials anywhere. */
export function rawSecrets(raw: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string, depth: number) => {
    if (depth > 32) return;
    if (typeof v === 'string') {
      if (SECRET_KEYS.test(key)) out.push(v);
      else if (v.includes('://')) out.push(...urlSecrets(v));
    } else if (Array.isArray(v)) for (const x of v) walk(x, key, depth + 1);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k, depth + 1);
  };
  walk(raw, '', 0);
  return out;
}
