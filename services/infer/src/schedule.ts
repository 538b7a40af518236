import type { ScheduleConfig } from '@vigil/config';

const DAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Weekday and minute of the day of a time in a named zone. */
export function localTime(ms: number, timeZone: string): { day: (typeof DAYS)[number]; minute: number } {
  let f = formatters.get(timeZone);
  if (!f) formatters.set(timeZone, (f = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return { day: DAYS[DAY_INDEX[parts.weekday!]!]!, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** Whether a capture time falls in the schedule. A range ending before it starts spans midnight (its day is the start's). */
export function inSchedule(s: ScheduleConfig, ms: number): boolean {
  const { day, minute } = localTime(ms, s.timezone);
  const yesterday = DAYS[(DAYS.indexOf(day) + 6) % 7]!;
  return s.hours.some(([from, to]) => {
    if (from < to) return s.days.includes(day) && minute >= from && minute < to;
    return (s.days.includes(day) && minute >= from) || (s.days.includes(yesterday) && minute < to);
  });
}
