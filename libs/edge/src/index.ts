export * from './auth.ts';
export * from './guard.ts';
export * from './server.ts';
export * from './ops.ts';
