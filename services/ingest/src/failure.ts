/** Reasons ingest's own watchdogs give when they end ffmpeg. */
export const Reasons = {
  connecting: 'connecting',
  receiving: 'receiving frames',
  streamEnded: 'stream ended',
  invalidUrl: 'invalid URL',
  hostUnreachable: 'host unreachable',
  removed: 'removed from config',
  stopped: 'ingest stopped',
  noFrames: (ms: number) => `no frames for ${Math.round(ms / 1000)} s`,
  slow: (fps: number, target: number) => `delivering ${fps.toFixed(1)} of ${target} fps`,
} as const;

const RULES: [RegExp, string][] = [
  [/\b401\b|unauthori[sz]ed|authori[sz]ation failed/i, '401 unauthorized'],
  [/\b403\b|forbidden/i, '403 forbidden'],
  [/connection refused/i, 'connection refused'],
  [/no such file or directory/i, 'file not found'],
  [/\b404\b|not found/i, 'stream not found (404)'],
  [/failed to resolve|name or service not known|no route to host|network is unreachable|host is unreachable|no address associated/i, 'host unreachable'],
  [/timed out|timeout/i, 'connection timed out'],
  [/matches no streams|does not contain any stream|no video/i, 'stream has no video'],
  [/connection reset|broken pipe|end of file/i, 'stream ended'],
  [/not mjpeg|not valid jpeg/i, 'garbage output'],
  [/invalid data found/i, 'invalid data from camera'],
  [/cannot run ffmpeg/i, 'cannot run ffmpeg'],
];

/**
 * Turns ffmpeg's last error lines (already scrubbed of secrets) into a short reason an
 * operator can act on. Reasons ingest set itself pass through unchanged.
 */
export function describeFailure(text: string): string {
  if (/^(no frames for|stream ended$|host unreachable$|output is not|stream timestamps)/.test(text)) return text;
  for (const [pattern, reason] of RULES) if (pattern.test(text)) return reason;
  const first = text.split('; ')[0] ?? '';
  return first.slice(0, 160) || Reasons.streamEnded;
}
