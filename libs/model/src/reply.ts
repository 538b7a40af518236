/**
 * Reading a model server's replies as the untrusted input they are: bodies are capped in
 * bytes while they arrive (see wire.ts), and the JSON is checked field by field, so a reply
 * of the wrong shape fails with a message naming the field instead of a TypeError deep in
 * the parser.
 */

/**
 * Largest reply bodies kept, per route. A chat completion is a few KB of text even at tens
 * of thousands of tokens; 16 MiB leaves room for any real one (and for servers that add
 * logprobs or echo the prompt) while a runaway or hostile server costs at most that much.
 * A model list or health answer is tiny.
 */
export const REPLY_LIMITS = {
  completion: 16 * 1024 * 1024,
  models: 1024 * 1024,
  health: 64 * 1024,
} as const;

/** The fields of a chat completion that Vigil reads, checked. */
export interface CompletionReply {
  content: string;
  finishReason?: string;
  reasoningContent?: string;
  promptTokens: number;
  completionTokens: number;
  /**
   * Prompt tokens the server took from its prefix cache (`usage.prompt_tokens_details.cached_tokens`),
   * within [0, promptTokens]; undefined when the reply does not say.
   */
  cachedTokens?: number;
}

/** A reply that is valid JSON but not the shape the API promises. */
function shapeError(what: string, v: unknown): Error {
  return new Error(`the server's reply is not a chat completion: ${what} is ${describe(v)}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string, or absent (null/undefined); anything else is a shape error. */
function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw shapeError(what, v);
  return v;
}

/** Token counts only feed metrics and budgets: nonsense reads as 0 rather than losing the answer. */
function tokens(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/**
 * `usage.prompt_tokens_details.cached_tokens`, the OpenAI field for prompt tokens served from a
 * prefix cache. vLLM fills it only when started with `--enable-prompt-tokens-details` (off by
 * default; V1 support came with vllm-project/vllm#18149, and some V1 builds still answer
 * `prompt_tokens_details: null`, vllm-project/vllm#44961). NIM's KV cache reuse docs
 * (docs.nvidia.com/nim/vision-language-models/latest/kv-cache-reuse.html) do not document the
 * field, so its absence means "not reported", not "missed". It only feeds metrics: a value that
 * is not a number reads as not reported, and a number is clamped to [0, promptTokens] (a
 * server cannot have cached more of the prompt than the prompt).
 */
function cachedTokens(usage: Record<string, unknown>, promptTokens: number): number | undefined {
  const details = usage.prompt_tokens_details;
  if (!isObject(details)) return undefined;
  const v = details.cached_tokens;
  if (typeof v !== 'number' || Number.isNaN(v)) return undefined;
  return Math.min(promptTokens, Math.max(0, Math.floor(v)));
}

/** JSON.parse, failing with the start of the text instead of a SyntaxError position. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`the server answered with invalid JSON: ${JSON.stringify(text.slice(0, 100))}`);
  }
}

/** Checks a parsed `/v1/chat/completions` reply; throws naming the first field of the wrong type. */
export function readCompletion(json: unknown): CompletionReply {
  if (!isObject(json)) throw shapeError('the reply', json);
  const choices = json.choices;
  if (!Array.isArray(choices)) throw shapeError('choices', choices);
  const choice: unknown = choices[0];
  if (!isObject(choice)) throw shapeError('choices[0]', choice);
  const message = choice.message ?? {};
  if (!isObject(message)) throw shapeError('choices[0].message', message);
  const usage = json.usage ?? {};
  if (!isObject(usage)) throw shapeError('usage', usage);
  const promptTokens = tokens(usage.prompt_tokens);
  return {
    content: optionalString(message.content, 'choices[0].message.content') ?? '',
    reasoningContent: optionalString(message.reasoning_content, 'choices[0].message.reasoning_content'),
    finishReason: optionalString(choice.finish_reason, 'choices[0].finish_reason'),
    promptTokens,
    completionTokens: tokens(usage.completion_tokens),
    cachedTokens: cachedTokens(usage, promptTokens),
  };
}

/** Longest model id accepted from `/v1/models` (it goes into every request body). */
const MAX_MODEL_ID = 256;

/** The first model id a parsed `/v1/models` reply lists; throws when there is none or it is not a sane string. */
export function readModelId(json: unknown): string {
  const data = isObject(json) ? json.data : undefined;
  const first: unknown = Array.isArray(data) ? data[0] : undefined;
  const id = isObject(first) ? first.id : undefined;
  if (typeof id !== 'string' || id === '') throw new Error('GET /v1/models listed no model');
  if (id.length > MAX_MODEL_ID) throw new Error(`GET /v1/models listed a model id of ${id.length} characters (at most ${MAX_MODEL_ID})`);
  return id;
}
