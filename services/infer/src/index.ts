export * from './main.ts';
export { InferReplay } from './replay.ts';
export { createModelClient } from './core.ts';
