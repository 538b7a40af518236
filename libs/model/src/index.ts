export * from './types.ts';
export * from './parse.ts';
export * from './profiles.ts';
export * from './client.ts';
export * from './endpoints.ts';
export * from './wire.ts';
export * from './reply.ts';
export * from './cost.ts';
