/**
 * The fused strategy (model.share: fused), for servers without a prefix cache: one request,
 * one video, the group's questions numbered, and one answer per question in a JSON object.
 * Each question keeps its own wording (format instructions included) and its own
 * `alert_when`; a fused answer that cannot be split for a question sends that question on
 * its own.
 */
import { extractJson } from './verdict.ts';

/** The combined question: every member's full question, numbered from 1. */
export function fusedQuestion(questions: string[]): string {
  const list = questions.map((q, i) => `${i + 1}. ${q.replace(/\n+/g, ' ')}`).join('\n');
  return (
    `Answer each of the ${questions.length} numbered questions below about this video.\n${list}\n` +
    `Give your final answer as one JSON object mapping each question number to its answer as that question asks for it, ` +
    `for example {"1": "Yes, ...", "2": {"verdict": "no"}}. Answer every question.`
  );
}

/**
 * Each question's answer from the fused answer: a string as it is, an object or array as JSON
 * (a JSON verdict is judged from it), anything else or a missing number as undefined.
 */
export function splitFused(answer: string, n: number): (string | undefined)[] {
  const value = extractJson(answer);
  const out: (string | undefined)[] = Array.from({ length: n }, () => undefined);
  if (!value || typeof value !== 'object' || Array.isArray(value)) return out;
  const o = value as Record<string, unknown>;
  for (let i = 0; i < n; i++) {
    const v = o[String(i + 1)];
    if (typeof v === 'string' && v.trim() !== '') out[i] = v.trim();
    else if (typeof v === 'boolean' || typeof v === 'number') out[i] = String(v);
    else if (v !== null && typeof v === 'object') out[i] = JSON.stringify(v);
  }
  return out;
}
