import type { AlertRule, Comparison, JsonSchemaLite } from '@vigil/config';

export interface Verdict {
  verdict: boolean;
  /** The JSON object a JSON rule read from the answer. */
  structured?: unknown;
  /** Why a JSON verdict could not be read (no object, schema mismatch). */
  error?: string;
}

/** The question as sent: a JSON rule asks for a JSON object matching its schema. */
export function questionFor(question: string, rule: AlertRule): string {
  if (rule.kind === 'choice') return `${question}\nAnswer yes or no first.`;
  if (rule.kind !== 'json') return question;
  return `${question}\nYour answer must be only a JSON object matching this JSON Schema: ${JSON.stringify(rule.schema)}`;
}

/** Applies a query's `alert_when` to the model's answer. */
export function judge(answer: string, rule: AlertRule): Verdict {
  if (rule.kind === 'regex') return { verdict: rule.pattern.test(answer) };
  if (rule.kind === 'choice') {
    const m = /^\W*(yes|no)\b/i.exec(answer);
    if (!m) return { verdict: false, error: 'the answer is neither yes nor no' };
    return { verdict: (m[1]!.toLowerCase() === 'yes') === rule.yes };
  }
  const value = extractJson(answer);
  if (value === undefined) return { verdict: false, error: 'the answer holds no JSON object' };
  const problems = validate(value, rule.schema, '$');
  if (problems.length > 0) return { verdict: false, structured: value, error: `the JSON verdict does not match the schema: ${listProblems(problems)}` };
  const obj = value as Record<string, unknown>;
  const verdict = Object.entries(rule.when).every(([field, cond]) => holds(obj[field], cond));
  return { verdict, structured: value };
}

/** Schema problems named in a verdict error; an array of thousands of bad items needs no more. */
const MAX_PROBLEMS = 8;

function listProblems(problems: string[]): string {
  const more = problems.length - MAX_PROBLEMS;
  return problems.slice(0, MAX_PROBLEMS).join('; ') + (more > 0 ? `; and ${more} more` : '');
}

/**
 * Bounds on the search for a JSON verdict: the '{'s tried as its start, and its length. A
 * verdict is a small object near the start of the answer; without them a degenerate answer
 * (20,000 '{'s) costs a scan to the end from every one of them: quadratic.
 */
export const MAX_JSON_STARTS = 16;
export const MAX_JSON_CHARS = 64 * 1024;

/**
 * The first balanced {...} in the text that parses as JSON (models wrap it in prose or fences),
 * starting at one of the first MAX_JSON_STARTS '{'s and at most MAX_JSON_CHARS long.
 */
export function extractJson(text: string): unknown {
  let tries = 0;
  for (let start = text.indexOf('{'); start >= 0 && tries < MAX_JSON_STARTS; start = text.indexOf('{', start + 1), tries++) {
    let depth = 0;
    let inString = false;
    const stop = Math.min(text.length, start + MAX_JSON_CHARS);
    for (let i = start; i < stop; i++) {
      const ch = text[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        try {
          return JSON.parse(text.slice(start, i + 1));
        } catch {
          break;
        }
      }
    }
  }
  return undefined;
}

export function validate(v: unknown, s: JsonSchemaLite, path: string): string[] {
  const out: string[] = [];
  if (s.type) {
    const ok =
      s.type === 'integer' ? Number.isInteger(v) : s.type === 'array' ? Array.isArray(v) : s.type === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v) : typeof v === s.type;
    if (!ok) return [`${path} should be ${s.type}`];
  }
  if (s.enum && !s.enum.includes(v as string)) out.push(`${path} should be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) out.push(`${path} should be ≥ ${s.minimum}`);
    if (s.maximum !== undefined && v > s.maximum) out.push(`${path} should be ≤ ${s.maximum}`);
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) out.push(`${path}.${r} is required`);
    for (const [k, sub] of Object.entries(s.properties ?? {})) if (k in o) out.push(...validate(o[k], sub, `${path}.${k}`));
  }
  if (Array.isArray(v) && s.items) v.forEach((x, i) => out.push(...validate(x, s.items!, `${path}[${i}]`)));
  return out;
}

function holds(v: unknown, c: Comparison): boolean {
  if (typeof c !== 'object') return typeof v === 'string' && typeof c === 'string' ? v.toLowerCase() === c.toLowerCase() : v === c;
  if (c.eq !== undefined && !holds(v, c.eq)) return false;
  if (c.in !== undefined && !c.in.some((x) => holds(v, x))) return false;
  const n = typeof v === 'number' ? v : NaN;
  if (c.gte !== undefined && !(n >= c.gte)) return false;
  if (c.gt !== undefined && !(n > c.gt)) return false;
  if (c.lte !== undefined && !(n <= c.lte)) return false;
  if (c.lt !== undefined && !(n < c.lt)) return false;
  return true;
}
