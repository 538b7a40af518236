export * from './control.ts';
export { MemoryControl } from './memory.ts';
export { NatsControl } from './nats.ts';
