export * from './bus.ts';
export { KafkaBus, type KafkaBusOptions } from './kafka.ts';
export { MemoryBus, type MemoryBusOptions } from './memory.ts';
