export { LiveViewRelays, type LiveSource } from './relays.ts';
