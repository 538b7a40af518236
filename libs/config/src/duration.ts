const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** True for strings like "500ms", "8s", "1.5m", "2h". */
export function isDuration(s: string): boolean {
  return DURATION.test(s.trim());
}

/** Parses a duration string into milliseconds; throws on anything else. */
export function parseDuration(s: string): number {
  const m = DURATION.exec(s.trim());
  if (!m) throw new Error(`expected a duration like "8s", got ${JSON.stringify(s)}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** The pattern as JSON Schema can state it. */
export const DURATION_PATTERN = DURATION.source;
