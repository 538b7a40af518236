export * from './main.ts';
export { parseShard, checkShard, shardOf, inShard, type Shard } from './shard.ts';
export { RELOAD_SUBJECT, diffCameras } from './reload.ts';
export { watchConfigFile } from '@vigil/config';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.ts';
export { describeFailure } from './failure.ts';
