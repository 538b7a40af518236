/**
 * Short-lived state shared by replicas: dedupe and cooldown keys. Redis in distributed
 * mode, memory in standalone mode. Keys expire; nothing here must outlive a restart.
 */
export interface SharedState {
  /** Sets the key only if absent (Redis SET NX PX); true when this caller set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  delete(key: string): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
