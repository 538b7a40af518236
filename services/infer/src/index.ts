export * from './main.ts';
export { InferReplay } from './replay.ts';
