export { checkMessage, jsonSchemaOf, MAX_CAPTURE_MS, MessageId, MIN_CAPTURE_MS, parseMessage, TimeMs, type DecodeResult } from './check.ts';
export * from './frame-chunk.ts';
export * from './finding.ts';
export * from './incident.ts';
export * from './topics.ts';
export * from './camera-status.ts';
export * from './ask.ts';
export * from './reload.ts';
export * from './topic-settings.ts';
