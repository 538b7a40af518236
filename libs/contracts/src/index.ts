export * from './frame-chunk.ts';
export * from './finding.ts';
export * from './incident.ts';
export * from './topics.ts';
export * from './camera-status.ts';
export * from './ask.ts';
export * from './topic-settings.ts';
