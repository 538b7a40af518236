export * from './bus.ts';
export { KafkaBus, type KafkaBusOptions } from './kafka.ts';
