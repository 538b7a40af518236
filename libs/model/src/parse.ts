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

/**
 * Finds times like `1.25s` or `12.5 seconds` in text and maps them from the window's clock
 * (the frames' `streamTime`: what the band shows, 0 at the first frame) to capture times.
 */
export function mapMentionedTimes(text: string, frames: { streamTime: number; capturedAt: number }[]): number[] {
  if (frames.length === 0) return [];
  const first = frames[0]!;
  const last = frames[frames.length - 1]!;
  const out = new Set<number>();
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b/g)) {
    const t = Number(m[1]);
    if (t < first.streamTime - 0.5 || t > last.streamTime + 0.5) continue;
    // Nearest frame by stream time, then the offset from it.
    let best = first;
    for (const f of frames) if (Math.abs(f.streamTime - t) < Math.abs(best.streamTime - t)) best = f;
    out.add(Math.round(best.capturedAt + (t - best.streamTime) * 1000));
  }
  return [...out].sort((a, b) => a - b);
}
