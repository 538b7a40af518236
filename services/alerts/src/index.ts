export * from './main.ts';
export { AlertPolicy } from './policy.ts';
