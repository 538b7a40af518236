import type { AskRequest } from './types.ts';

export type ProfileName = 'cosmos-reason1' | 'cosmos-reason2' | 'openai-frames';

/** Cosmos-Reason1's reasoning instruction, appended to the system prompt (model card). */
export const REASON1_FORMAT =
  'Answer the question in the following format: <think>\nyour reasoning\n</think>\n\n<answer>\nyour answer\n</answer>.';

/** How one model family wants a window asked: request body and how to read the reply. */
export interface ModelProfile {
  name: ProfileName;
  /** Whether frames should carry the burned-in timestamp band. */
  band: boolean;
  answerTag: boolean;
  buildBody(modelId: string, req: AskRequest, maxTokens: number): Record<string, unknown>;
}

/** Frames sent as one pre-sampled video: no encode on the client, no process per window. */
export function jpegVideoUrl(frames: { jpeg: Buffer }[]): string {
  return `data:video/jpeg;base64,${frames.map((f) => f.jpeg.toString('base64')).join(',')}`;
}

function timeNote(req: AskRequest): string {
  const first = req.frames[0]?.streamTime ?? 0;
  const last = req.frames[req.frames.length - 1]?.streamTime ?? 0;
  return (
    `The video is sampled at ${req.fps} fps. A timestamp is embedded at the bottom of each frame ` +
    `(seconds on the camera's clock; this clip runs from ${first.toFixed(2)}s to ${last.toFixed(2)}s). ` +
    'Refer to moments by those timestamps.'
  );
}

export const cosmosReason1: ModelProfile = {
  name: 'cosmos-reason1',
  band: true,
  answerTag: true,
  buildBody: (modelId, req, maxTokens) => ({
    model: modelId,
    messages: [
      { role: 'system', content: `You are a helpful assistant. ${REASON1_FORMAT}` },
      {
        role: 'user',
        content: [
          { type: 'text', text: `${req.question}\n\n${timeNote(req)}` },
          { type: 'video_url', video_url: { url: jpegVideoUrl(req.frames) } },
        ],
      },
    ],
    // Sampling from the model card.
    temperature: 0.6,
    top_p: 0.95,
    repetition_penalty: 1.05,
    max_tokens: maxTokens,
  }),
};

export const PROFILES: Record<string, ModelProfile> = { 'cosmos-reason1': cosmosReason1 };

export function profileByName(name: ProfileName): ModelProfile {
  const p = PROFILES[name];
  if (!p) throw new Error(`model profile "${name}" is not implemented yet`);
  return p;
}
