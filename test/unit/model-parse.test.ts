import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapMentionedTimes, parseReasoningAnswer } from '@vigil/model';

test('parses think and answer tags', () => {
  const r = parseReasoningAnswer('<think>\nA red box at 1.25s.\n</think>\n\n<answer>\nYes.\n</answer>', { answerTag: true });
  assert.deepEqual(r, { status: 'ok', reasoning: 'A red box at 1.25s.', answer: 'Yes.' });
});

test('an unclosed think or answer tag is truncated, not guessed', () => {
  assert.equal(parseReasoningAnswer('<think>\nI see a forklift and', { answerTag: true }).status, 'truncated');
  assert.equal(parseReasoningAnswer('<think>x</think><answer>Ye', { answerTag: true }).status, 'truncated');
  assert.equal(parseReasoningAnswer('<think>x</think><answer>Yes</answer>', { answerTag: true, finishReason: 'length' }).status, 'truncated');
});

test('a reply without the answer tag is an error for Reason1', () => {
  const r = parseReasoningAnswer('lorem ipsum', { answerTag: true });
  assert.equal(r.status, 'error');
  assert.match(r.error ?? '', /no <answer> tag/);
});

test('Reason2: answer follows </think>, reasoning may come separately', () => {
  assert.deepEqual(parseReasoningAnswer('<think>\nhmm\n</think>\n\nNo.', { answerTag: false }), { status: 'ok', reasoning: 'hmm', answer: 'No.' });
  assert.deepEqual(parseReasoningAnswer('Yes.', { answerTag: false, reasoningContent: 'because' }), { status: 'ok', reasoning: 'because', answer: 'Yes.' });
});

test('maps band times in the answer back to capture time', () => {
  const frames = [0, 1, 2, 3, 4].map((i) => ({ streamTime: 100 + i * 0.25, capturedAt: 5_000_000 + i * 250 }));
  assert.deepEqual(mapMentionedTimes('from 100.25s to 100.75s, not 3.00s', frames), [5_000_250, 5_000_750]);
});
