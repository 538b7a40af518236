const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface EnvIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value (after YAML parsing,
 * so a secret with YAML-special characters cannot change the document's structure).
 */
export function substituteEnv(value: unknown, env: Record<string, string | undefined>, issues: EnvIssue[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(REF, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      issues.push({ path, message: `environment variable ${name} is not set (use \${${name}:-default} for a fallback)` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, issues, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, issues, [...path, k])]));
  }
  return value;
}
