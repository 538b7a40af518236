/** One problem in a config file, located as precisely as the YAML allows. */
export interface ConfigIssue {
  /** Like `queries[0].window`. */
  path: string;
  message: string;
  line?: number;
  /** 1-based, where the YAML parser gives one (syntax errors). */
  column?: number;
  /** Where it is not the error's own file (a problem found with the help of a second file). */
  file?: string;
}

/** Thrown by `loadConfig`; lists every problem found, not just the first. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
    /** What the file is, for the first line ("invalid suite"). */
    what = 'config',
  ) {
    super(`${file}: invalid ${what}\n` + issues.map((i) => `  ${formatIssue(file, i)}`).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(file: string, i: ConfigIssue): string {
  const at = i.file ?? file;
  const where = i.line ? `${at}:${i.line}${i.column ? `:${i.column}` : ''}: ` : `${at}: `;
  return `${where}${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/** `['queries', 0, 'window']` → `queries[0].window`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)), '');
}
