import type { AnswerStatus } from './types.ts';

export interface ParsedAnswer {
  status: AnswerStatus;
  reasoning: string;
  answer: string;
  error?: string;
}

/**
 * Splits a Cosmos-Reason reply into reasoning and answer. An opened tag that never closes
 * (or finish_reason "length") means the reply was cut off: reported as truncated, not guessed.
 * `answerTag` is false for Reason2, whose answer follows `</think>` untagged.
 */
export function parseReasoningAnswer(content: string, opts: { answerTag: boolean; finishReason?: string | null; reasoningContent?: string | null }): ParsedAnswer {
  const think = /<think>([\s\S]*?)(<\/think>|$)/.exec(content);
  const thinkClosed = !think || think[2] === '</think>';
  let reasoning = (opts.reasoningContent ?? think?.[1] ?? '').trim();
  if (opts.finishReason === 'length' || !thinkClosed) {
    return { status: 'truncated', reasoning, answer: '', error: 'the reply was cut off before its answer (raise max_tokens)' };
  }
  const afterThink = think ? content.slice(think.index + think[0].length) : content;
  if (opts.answerTag) {
    const ans = /<answer>([\s\S]*?)(<\/answer>|$)/.exec(afterThink);
    if (!ans) return { status: 'error', reasoning, answer: '', error: 'the reply has no <answer> tag' };
    if (ans[2] !== '</answer>') return { status: 'truncated', reasoning, answer: ans[1]!.trim(), error: 'the reply was cut off inside <answer>' };
    return { status: 'ok', reasoning, answer: ans[1]!.trim() };
  }
  const answer = afterThink.replace(/<\/?answer>/g, '').trim();
  if (!reasoning && !think) reasoning = '';
  if (!answer) return { status: 'error', reasoning, answer: '', error: 'the reply has no answer after </think>' };
  return { status: 'ok', reasoning, answer };
}

/** At most this many times are taken from one answer: a real one names a handful. */
export const MAX_MENTIONED_TIMES = 64;

/** A unit after a number, at a given position (sticky): linear in the whitespace it skips. */
const UNIT = /\s*(?:s|sec|secs|seconds)\b/y;

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Finds times like `1.25s` or `12.5 seconds` in text and maps them from the window's clock
 * (the frames' `streamTime`: what the band shows, 0 at the first frame) to capture times.
 *
 * One pass over the text, trying each run of digits once: the equivalent regex
 * (`\d+(?:\.\d+)?\s*(?:s|…)\b` with the g flag) retries from every digit of a run, which is
 * quadratic on a reply of a million digits. Stops after MAX_MENTIONED_TIMES distinct times
 * or 16 times as many mentions in the window (each costs a pass over the frames).
 */
export function mapMentionedTimes(text: string, frames: { streamTime: number; capturedAt: number }[]): number[] {
  if (frames.length === 0) return [];
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  const out = new Set<number>();
  const n = text.length;
  let seen = 0;
  for (let i = 0; i < n && out.size < MAX_MENTIONED_TIMES && seen < 16 * MAX_MENTIONED_TIMES; ) {
    if (!isDigit(text.charCodeAt(i))) {
      i++;
      continue;
    }
    // A run of digits [i, j), maybe a fraction up to k. Starting later in the run could not
    // match where its start did not: what follows the run is the same.
    let j = i + 1;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    let k = j;
    if (text.charCodeAt(j) === 46 /* . */ && isDigit(text.charCodeAt(j + 1))) for (k = j + 2; k < n && isDigit(text.charCodeAt(k)); k++);
    UNIT.lastIndex = k;
    if (!UNIT.test(text)) {
      i = j; // the fraction's digits are a run of their own ("1.2.5s" mentions 2.5 s)
      continue;
    }
    const end = UNIT.lastIndex;
    const t = Number(text.slice(i, k));
    i = end;
    if (!(t >= first.streamTime - 0.5 && t <= last.streamTime + 0.5)) continue;
    seen++;
    // Nearest frame by stream time, then the offset from it.
    let best = first;
    for (const f of frames) if (Math.abs(f.streamTime - t) < Math.abs(best.streamTime - t)) best = f;
    out.add(Math.round(best.capturedAt + (t - best.streamTime) * 1000));
  }
  return [...out].sort((a, b) => a - b);
}
