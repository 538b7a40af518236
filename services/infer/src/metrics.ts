import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type InferMetrics = ReturnType<typeof createInferMetrics>;

export function createInferMetrics(registry: Registry) {
  const registers = [registry];
  return {
    chunks: new Counter({ name: 'vigil_infer_chunks_total', help: 'Frame chunks consumed', labelNames: ['camera'], registers }),
    badChunks: new Counter({ name: 'vigil_infer_chunks_rejected_total', help: 'Malformed chunks sent to the dead-letter topic', registers }),
    windowsPlanned: new Counter({ name: 'vigil_infer_windows_considered_total', help: 'Windows due for a question', labelNames: ['query'], registers }),
    windowsTriggered: new Counter({ name: 'vigil_infer_windows_triggered_total', help: 'Windows whose trigger fired', labelNames: ['query'], registers }),
    windowsAsked: new Counter({ name: 'vigil_infer_windows_asked_total', help: 'Windows asked to the model', labelNames: ['query'], registers }),
    windowsSkipped: new Counter({ name: 'vigil_infer_windows_skipped_total', help: 'Windows not asked', labelNames: ['query', 'reason'], registers }),
    triggerFindings: new Counter({ name: 'vigil_infer_trigger_findings_total', help: 'Triggered windows published as trigger findings (no model server configured)', labelNames: ['query'], registers }),
    bandFailures: new Counter({ name: 'vigil_infer_band_failures_total', help: 'Frames sent without a timestamp band (not a frame the band splicer can extend)', registers }),
    outlineFailures: new Counter({ name: 'vigil_infer_outline_failures_total', help: 'Windows of zone_view: outline queries sent without the zone outline (ffmpeg failed or timed out)', registers }),
    outlineSeconds: new Histogram({ name: 'vigil_infer_outline_seconds', help: 'Time to draw a zone outline on one window\'s frames (one ffmpeg run)', buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers }),
    windowGroups: new Counter({ name: 'vigil_infer_window_groups_total', help: 'Groups of several questions about the same frames sent together (one video prefill each when the server caches prefixes)', registers }),
    groupQuestions: new Counter({ name: 'vigil_infer_window_group_questions_total', help: 'Questions asked as members of a window group', registers }),
    fusedRequests: new Counter({ name: 'vigil_infer_fused_requests_total', help: 'Requests that asked a window group\'s questions together (model.share: fused)', registers }),
    fusedUnsplit: new Counter({ name: 'vigil_infer_fused_unsplit_total', help: 'Questions whose answer a fused reply did not hold (asked again on their own)', registers }),
    superseded: new Counter({ name: 'vigil_infer_windows_superseded_total', help: 'Waiting windows replaced by a newer one', registers }),
    windowsRetried: new Counter({ name: 'vigil_infer_windows_retried_total', help: 'Event windows asked again after their request failed (overloaded or failing model server)', labelNames: ['query'], registers }),
    findings: new Counter({ name: 'vigil_infer_findings_total', help: 'Findings published', labelNames: ['query', 'status', 'verdict'], registers }),
    modelLatency: new Histogram({
      name: 'vigil_infer_model_latency_seconds',
      help: 'Model request latency',
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
    promptTokens: new Counter({ name: 'vigil_infer_prompt_tokens_total', help: 'Prompt tokens used', registers }),
    completionTokens: new Counter({ name: 'vigil_infer_completion_tokens_total', help: 'Completion tokens used', registers }),
    prefixCacheRequests: new Counter({ name: 'vigil_infer_prefix_cache_requests_total', help: 'Model replies per endpoint (the denominator of the prefix-cache hit ratio)', labelNames: ['endpoint'], registers }),
    prefixCacheHits: new Counter({ name: 'vigil_infer_prefix_cache_hits_total', help: 'Model replies that reported prompt tokens served from the prefix cache', labelNames: ['endpoint'], registers }),
    prefixCachedTokens: new Counter({ name: 'vigil_infer_prefix_cached_tokens_total', help: 'Prompt tokens the model server took from its prefix cache instead of prefilling them', labelNames: ['endpoint'], registers }),
    inFlight: new Gauge({ name: 'vigil_infer_model_in_flight', help: 'Model requests in flight', registers }),
    queued: new Gauge({ name: 'vigil_infer_windows_queued', help: 'Windows waiting for the model', registers }),
    cameraLag: new Gauge({ name: 'vigil_infer_camera_lag_seconds', help: 'Per camera: from the end of its last asked window (capture time) to the question', labelNames: ['camera'], registers }),
    endpointInFlight: new Gauge({ name: 'vigil_infer_endpoint_in_flight', help: 'Requests in flight per model endpoint', labelNames: ['endpoint'], registers }),
    endpointOpen: new Gauge({ name: 'vigil_infer_endpoint_circuit_open', help: '1 while an endpoint\'s circuit breaker is open', labelNames: ['endpoint'], registers }),
    analyticsFrames: new Counter({ name: 'vigil_infer_analytics_frames_total', help: 'Frames through the ONNX trigger stage', registers }),
    analyticsUndecodable: new Counter({ name: 'vigil_infer_analytics_undecodable_frames_total', help: 'Frames the trigger stage could not decode (not baseline JPEG, out of limits or corrupt): no stats, no motion', registers }),
    analyticsBatch: new Histogram({ name: 'vigil_infer_analytics_batch_frames', help: 'Frames per batched ONNX run', buckets: [1, 4, 16, 64, 128, 256, 512, 1024], registers }),
    cursorHoldExpired: new Counter({ name: 'vigil_infer_commit_hold_expired_total', help: 'Chunks committed before their windows settled (hold limit reached)', registers }),
    publishFailures: new Counter({ name: 'vigil_infer_publish_failures_total', help: 'Findings that could not be published after retries', registers }),
    lag: new Histogram({
      name: 'vigil_infer_capture_to_question_seconds',
      help: 'From the end of a window (capture time) to asking the model',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
  };
}

/** Forgets a camera that left the config, so its series leave /metrics. */
export function removeCameraSeries(m: InferMetrics, camera: string): void {
  m.chunks.remove({ camera });
  m.cameraLag.remove({ camera });
}
