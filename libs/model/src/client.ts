import { mapMentionedTimes, parseReasoningAnswer } from './parse.ts';
import { profileByName, type ModelProfile, type ProfileName } from './profiles.ts';
import { EndpointPool, type EndpointPoolOptions } from './endpoints.ts';
import { send, serializeBody, type Splice, type WireResponse } from './wire.ts';
import { REPLY_LIMITS, parseJson, readCompletion, readModelId } from './reply.ts';
import type { AskRequest, ModelAnswer, Sampling } from './types.ts';

export interface ModelClientOptions {
  /** Base URLs (no `/v1`), or URLs with their own in-flight limit and key. */
  endpoints: (string | { url: string; maxInFlight?: number; apiKey?: string })[];
  /** In-flight limit of an endpoint that sets none. */
  maxInFlight?: number;
  profile: ProfileName;
  /** Config-wide overrides of the profile's sampling. */
  sampling?: Sampling;
  breaker?: EndpointPoolOptions;
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
  /** The endpoints, their in-flight slots and circuit breakers (the dispatcher reserves slots here). */
  readonly pool: EndpointPool;
  private readonly modelIds = new Map<string, string>();

  constructor(private readonly opts: ModelClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('ModelClient needs at least one endpoint');
    this.profile = profileByName(opts.profile);
    this.pool = new EndpointPool(
      opts.endpoints.map((e) => (typeof e === 'string' ? { url: e } : e)).map((e) => ({ url: e.url, apiKey: e.apiKey, maxInFlight: e.maxInFlight ?? opts.maxInFlight ?? 4 })),
      opts.breaker,
    );
  }

  /**
   * Asks about one window: the reserved endpoint first, failing over to the others; 5xx,
   * 429, timeouts and connection errors are retried in rounds with backoff; other 4xx are not.
   */
  async ask(req: AskRequest): Promise<ModelAnswer> {
    const started = performance.now();
    const errors: string[] = [];
    const attempts = this.opts.attempts ?? 3;
    for (let round = 0; round < attempts; round++) {
      if (round > 0) await sleep(250 * 2 ** (round - 1));
      for (const endpoint of this.pool.order(req.endpoint)) {
        // Skip open circuits while a closed one remains; when all are open, try anyway.
        if (this.pool.isOpen(endpoint) && this.pool.endpoints.some((e) => !this.pool.isOpen(e))) continue;
        try {
          const answer = await this.askOnce(endpoint.url, req, started);
          this.pool.succeeded(endpoint.url);
          return answer;
        } catch (e) {
          errors.push(`${endpoint.url}: ${(e as Error).message}`);
          if (e instanceof ModelRequestError && e.status >= 400 && e.status < 500 && e.status !== 404 && e.status !== 429) {
            return this.failed(req, started, endpoint.url, errors);
          }
          this.pool.failed(endpoint.url);
        }
      }
    }
    return this.failed(req, started, this.pool.endpoints.map((e) => e.url).join(','), errors);
  }

  private profileOf(req: AskRequest): ModelProfile {
    return req.profile ? profileByName(req.profile) : this.profile;
  }

  private failed(req: AskRequest, started: number, endpoint: string, errors: string[]): ModelAnswer {
    return {
      profile: this.profileOf(req).name,
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
    const profile = this.profileOf(req);
    const splices: Splice[] = [];
    const body = profile.buildBody(modelId, { ...req, sampling: { ...this.opts.sampling, ...definedOnly(req.sampling) } }, req.maxTokens ?? this.opts.maxTokens, splices);
    const res = await this.http(endpoint, '/v1/chat/completions', 'POST', REPLY_LIMITS.completion, serializeBody(body, splices));
    const completion = readCompletion(parseJson(res.text));
    const raw = completion.content;
    const parsed = parseReasoningAnswer(raw, {
      answerTag: profile.answerTag,
      finishReason: completion.finishReason,
      reasoningContent: completion.reasoningContent,
    });
    return {
      ...parsed,
      profile: profile.name,
      raw,
      modelId,
      endpoint,
      promptTokens: completion.promptTokens,
      completionTokens: completion.completionTokens,
      cachedTokens: completion.cachedTokens ?? 0,
      latencyMs: performance.now() - started,
      mentionedTimes: mapMentionedTimes(`${parsed.reasoning}\n${parsed.answer}`, req.frames),
    };
  }

  /** The served model id: configured, or the first one `GET /v1/models` lists. */
  async modelId(endpoint: string): Promise<string> {
    if (this.opts.modelId) return this.opts.modelId;
    const known = this.modelIds.get(endpoint);
    if (known) return known;
    const res = await this.http(endpoint, '/v1/models', 'GET', REPLY_LIMITS.models);
    const id = readModelId(parseJson(res.text));
    this.modelIds.set(endpoint, id);
    return id;
  }

  /** Readiness of one endpoint (NIM `/v1/health/ready`, else vLLM `/health`). */
  async ready(endpoint: string): Promise<boolean> {
    for (const path of ['/v1/health/ready', '/health']) {
      try {
        await this.http(endpoint, path, 'GET', REPLY_LIMITS.health, undefined, 5000);
        return true;
      } catch {
        /* try the next convention */
      }
    }
    return false;
  }

  /** One request; its reply body is capped at `maxBytes` (REPLY_LIMITS). */
  private async http(endpoint: string, path: string, method: string, maxBytes: number, body?: Buffer[], timeoutMs = this.opts.timeoutMs): Promise<WireResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const key = this.pool.endpoints.find((e) => e.url === endpoint)?.apiKey ?? this.opts.apiKey;
    if (key) headers.authorization = `Bearer ${key}`;
    let res: WireResponse;
    try {
      res = await send(`${endpoint}${path}`, method, headers, body, timeoutMs, maxBytes);
    } catch (e) {
      throw new Error((e as Error).message);
    }
    if (res.status < 200 || res.status >= 300) throw new ModelRequestError(`${method} ${path} answered ${res.status} ${res.text.slice(0, 300)}`, res.status);
    return res;
  }
}

function definedOnly(s: Sampling | undefined): Sampling {
  return Object.fromEntries(Object.entries(s ?? {}).filter(([, v]) => v !== undefined));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
