export * from './state.ts';
export { MemoryState } from './memory.ts';
export { RedisState } from './redis.ts';
