/** A frame as the model client needs it. */
export interface WindowFrame {
  jpeg: Buffer;
  capturedAt: number;
  /** Seconds on the window's clock (0 at its first frame): what the timestamp band shows. */
  streamTime: number;
  /** The frame as sent, already base64 (ASCII) in pieces to concatenate; `jpeg` is then not encoded. */
  base64?: Buffer[];
}

export interface AskRequest {
  question: string;
  frames: WindowFrame[];
  fps: number;
  /** Names the request in errors and logs (e.g. `dock-1/red-object@2026-…`). */
  label: string;
  maxTokens?: number;
  /** Overrides the client's profile for this request. */
  profile?: import('./profiles.ts').ProfileName;
  /** Overrides the profile's sampling. */
  sampling?: Sampling;
  /** Endpoint to try first (the one the dispatcher reserved a slot on). */
  endpoint?: string;
}

export interface Sampling {
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
}

export type AnswerStatus = 'ok' | 'truncated' | 'error';

export interface ModelAnswer {
  /** The profile the window was asked with. */
  profile: string;
  status: AnswerStatus;
  answer: string;
  reasoning: string;
  raw: string;
  error?: string;
  modelId: string;
  endpoint: string;
  promptTokens: number;
  completionTokens: number;
  /**
   * Of promptTokens, those the server served from its prefix cache (0 when its reply did not
   * say); absent when no reply came back (the request failed).
   */
  cachedTokens?: number;
  latencyMs: number;
  /** Absolute times (ms since epoch) mentioned in the answer, mapped from the band's clock. */
  mentionedTimes: number[];
}
