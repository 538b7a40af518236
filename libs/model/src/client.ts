import { mapMentionedTimes, parseReasoningAnswer } from './parse.ts';
import { profileByName, type ModelProfile, type ProfileName } from './profiles.ts';
import type { AskRequest, ChatCompletion, ModelAnswer } from './types.ts';

export interface ModelClientOptions {
  /** Base URLs (no `/v1`), tried in order. */
  endpoints: string[];
  profile: ProfileName;
  modelId?: string;
  apiKey?: string;
  timeoutMs: number;
  maxTokens: number;
  /** Attempts per request across all endpoints, with backoff between rounds. */
  attempts?: number;
}

/** An HTTP answer the client should not retry (bad request, unknown model…). */
export class ModelRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ModelRequestError';
  }
}

/**
 * OpenAI-compatible client for Cosmos Reason on NIM or vLLM. Reads the served model id from
 * `GET /v1/models`, fails over across endpoints, retries 5xx and timeouts with backoff,
 * and turns every outcome into a ModelAnswer (errors included) so no window is lost silently.
 */
export class ModelClient {
  readonly profile: ModelProfile;
  private readonly modelIds = new Map<string, string>();

  constructor(private readonly opts: ModelClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('ModelClient needs at least one endpoint');
    this.profile = profileByName(opts.profile);
  }

  async ask(req: AskRequest): Promise<ModelAnswer> {
    const started = performance.now();
    const errors: string[] = [];
    const attempts = this.opts.attempts ?? 3;
    for (let round = 0; round < attempts; round++) {
      if (round > 0) await sleep(250 * 2 ** (round - 1));
      for (const endpoint of this.opts.endpoints) {
        try {
          return await this.askOnce(endpoint, req, started);
        } catch (e) {
          errors.push(`${endpoint}: ${(e as Error).message}`);
          if (e instanceof ModelRequestError && e.status >= 400 && e.status < 500 && e.status !== 404 && e.status !== 429) {
            return this.failed(req, started, endpoint, errors);
          }
        }
      }
    }
    return this.failed(req, started, this.opts.endpoints.join(','), errors);
  }

  private failed(req: AskRequest, started: number, endpoint: string, errors: string[]): ModelAnswer {
    return {
      status: 'error',
      answer: '',
      reasoning: '',
      raw: '',
      error: `asking ${req.label} failed: ${errors.slice(-3).join('; ')}`,
      modelId: this.opts.modelId ?? '',
      endpoint,
      promptTokens: 0,
      completionTokens: 0,
      latencyMs: performance.now() - started,
      mentionedTimes: [],
    };
  }

  private async askOnce(endpoint: string, req: AskRequest, started: number): Promise<ModelAnswer> {
    const modelId = await this.modelId(endpoint);
    const body = this.profile.buildBody(modelId, req, req.maxTokens ?? this.opts.maxTokens);
    const res = await this.http(endpoint, '/v1/chat/completions', { method: 'POST', body: JSON.stringify(body) });
    const completion = (await res.json()) as ChatCompletion;
    const choice = completion.choices?.[0];
    const raw = choice?.message?.content ?? '';
    const parsed = parseReasoningAnswer(raw, {
      answerTag: this.profile.answerTag,
      finishReason: choice?.finish_reason,
      reasoningContent: choice?.message?.reasoning_content,
    });
    return {
      ...parsed,
      raw,
      modelId,
      endpoint,
      promptTokens: completion.usage?.prompt_tokens ?? 0,
      completionTokens: completion.usage?.completion_tokens ?? 0,
      latencyMs: performance.now() - started,
      mentionedTimes: mapMentionedTimes(`${parsed.reasoning}\n${parsed.answer}`, req.frames),
    };
  }

  /** The served model id: configured, or the first one `GET /v1/models` lists. */
  async modelId(endpoint: string): Promise<string> {
    if (this.opts.modelId) return this.opts.modelId;
    const known = this.modelIds.get(endpoint);
    if (known) return known;
    const res = await this.http(endpoint, '/v1/models', { method: 'GET' });
    const list = (await res.json()) as { data?: { id?: string }[] };
    const id = list.data?.[0]?.id;
    if (!id) throw new Error('GET /v1/models listed no model');
    this.modelIds.set(endpoint, id);
    return id;
  }

  /** Readiness of one endpoint (NIM `/v1/health/ready`, else vLLM `/health`). */
  async ready(endpoint: string): Promise<boolean> {
    for (const path of ['/v1/health/ready', '/health']) {
      try {
        await this.http(endpoint, path, { method: 'GET' }, 5000);
        return true;
      } catch {
        /* try the next convention */
      }
    }
    return false;
  }

  private async http(endpoint: string, path: string, init: RequestInit, timeoutMs = this.opts.timeoutMs): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    let res: Response;
    try {
      res = await fetch(`${endpoint}${path}`, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const err = e as Error;
      throw new Error(err.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : (err.cause as Error | undefined)?.message ?? err.message);
    }
    if (!res.ok) {
      const text = (await res.text().catch(() => '')).slice(0, 300);
      throw new ModelRequestError(`${init.method} ${path} answered ${res.status} ${text}`, res.status);
    }
    return res;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
