export * from './redact.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './http.ts';
export * from './process-policy.ts';
