export { LiveViewRelays, type LiveViewOptions } from './relays.ts';
export type { LiveViewer } from './camera-relay.ts';
export type { LiveSource } from './source.ts';
