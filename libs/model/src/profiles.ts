import type { AskRequest, Sampling } from './types.ts';
import { frameSplice, type Splice } from './wire.ts';

export type ProfileName = 'cosmos-reason1' | 'cosmos-reason2' | 'openai-frames';

/** Cosmos-Reason1's reasoning instruction, appended to the system prompt (model card). */
export const REASON1_FORMAT =
  'Answer the question in the following format: <think>\nyour reasoning\n</think>\n\n<answer>\nyour answer\n</answer>.';
/** Cosmos-Reason2's reasoning instruction, in the user prompt. */
export const REASON2_FORMAT =
  'Answer the question using the following format: <think> Your reasoning. </think> Write your final answer immediately after the </think> tag.';

/** How one model family wants a window asked: request body and how to read the reply. */
export interface ModelProfile {
  name: ProfileName;
  /** Whether the model reads a timestamp band under the frames (infer splices it in). */
  band: boolean;
  answerTag: boolean;
  /** The model card's sampling; a query or the config may override any of it. */
  sampling: Sampling;
  /**
   * The request body; frame data goes in as splice tokens (see wire.ts), listed in `splices`.
   * Everything before the last text part (system prompt, media, notes on the media) depends
   * only on the model id, the frames and their fps, and the question comes last: the questions
   * about one window then share a prefix that the server's prefix cache (vLLM automatic prefix
   * caching, NIM KV cache reuse) prefills once, vision encoder included.
   */
  buildBody(modelId: string, req: AskRequest, maxTokens: number, splices: Splice[]): Record<string, unknown>;
}

/** Registers a frames placeholder and returns its token. */
function spliced(splices: Splice[], prefix: string, frames: { jpeg: Buffer; base64?: Buffer[] }[]): string {
  const s = frameSplice(prefix, frames);
  splices.push(s);
  return s.token;
}

function bandNote(req: AskRequest): string {
  // Infer puts a 0-based band on each window's frames (the frames' streamTime is that clock).
  return (
    `The video is sampled at ${req.fps} fps. The timestamp embedded at the bottom of each frame ` +
    'counts seconds from the first frame of this clip. Refer to moments by those timestamps.'
  );
}

function samplingFields(s: Sampling): Record<string, number> {
  const out: Record<string, number> = {};
  if (s.temperature !== undefined) out.temperature = s.temperature;
  if (s.topP !== undefined) out.top_p = s.topP;
  if (s.topK !== undefined) out.top_k = s.topK;
  if (s.repetitionPenalty !== undefined) out.repetition_penalty = s.repetitionPenalty;
  return out;
}

function sampled(profile: ModelProfile, req: AskRequest): Record<string, number> {
  const s = req.sampling ?? {};
  const pick = <K extends keyof Sampling>(k: K) => s[k] ?? profile.sampling[k];
  return samplingFields({ temperature: pick('temperature'), topP: pick('topP'), topK: pick('topK'), repetitionPenalty: pick('repetitionPenalty') });
}

export const cosmosReason1: ModelProfile = {
  name: 'cosmos-reason1',
  band: true,
  answerTag: true,
  sampling: { temperature: 0.6, topP: 0.95, repetitionPenalty: 1.05 },
  buildBody(modelId, req, maxTokens, splices) {
    return {
      model: modelId,
      messages: [
        { role: 'system', content: `You are a helpful assistant. ${REASON1_FORMAT}` },
        {
          role: 'user',
          content: [
            { type: 'video_url', video_url: { url: spliced(splices, 'data:video/jpeg;base64,', req.frames) } },
            // About the video, not the question: it stays in the shared prefix.
            { type: 'text', text: `${bandNote(req)}\n\n` },
            { type: 'text', text: req.question },
          ],
        },
      ],
      ...sampled(this, req),
      max_tokens: maxTokens,
    };
  },
};

export const cosmosReason2: ModelProfile = {
  name: 'cosmos-reason2',
  band: false,
  answerTag: false,
  sampling: { temperature: 0.6, topP: 0.95, topK: 20 },
  buildBody(modelId, req, maxTokens, splices) {
    return {
      model: modelId,
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        {
          role: 'user',
          content: [
            { type: 'video_url', video_url: { url: spliced(splices, 'data:video/jpeg;base64,', req.frames) } },
            // The card's instruction follows the question it refers to; it is the same for every
            // question, so only these few tokens after the shared prefix are prefilled again.
            { type: 'text', text: `${req.question}\n\n${REASON2_FORMAT}` },
          ],
        },
      ],
      // Reason2 places timestamps itself from the fps: tell the processor what we sampled.
      mm_processor_kwargs: { fps: req.fps, do_sample_frames: true },
      ...sampled(this, req),
      max_tokens: maxTokens,
    };
  },
};

/** For servers without video input (Ollama, hosted APIs): one image part per frame, its time in the text. */
export const openaiFrames: ModelProfile = {
  name: 'openai-frames',
  band: false,
  answerTag: false,
  sampling: { temperature: 0.2 },
  buildBody(modelId, req, maxTokens, splices) {
    const t0 = req.frames[0]?.capturedAt ?? 0;
    const content: Record<string, unknown>[] = [
      {
        type: 'text',
        text: `The ${req.frames.length} images below are consecutive frames of one camera at ${req.fps} fps; each is preceded by its time from the first frame. Answer with a short answer first.`,
      },
    ];
    for (const f of req.frames) {
      content.push({ type: 'text', text: `t=${((f.capturedAt - t0) / 1000).toFixed(2)}s` });
      content.push({ type: 'image_url', image_url: { url: spliced(splices, 'data:image/jpeg;base64,', [f]) } });
    }
    // Question last: the frames before it are the same for every question, a prefix the server can cache.
    content.push({ type: 'text', text: req.question });
    return { model: modelId, messages: [{ role: 'user', content }], ...sampled(this, req), max_tokens: maxTokens };
  },
};

export const PROFILES: Record<ProfileName, ModelProfile> = {
  'cosmos-reason1': cosmosReason1,
  'cosmos-reason2': cosmosReason2,
  'openai-frames': openaiFrames,
};

export function profileByName(name: ProfileName): ModelProfile {
  const p = PROFILES[name];
  if (!p) throw new Error(`unknown model profile "${name}"`);
  return p;
}
