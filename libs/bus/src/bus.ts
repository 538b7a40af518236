/** A message to publish: keyed (per camera) so one camera's messages stay in order. */
export interface OutMessage {
  key: string;
  value: Buffer;
  /** Capture or event time, ms since epoch; the broker keeps it as the record timestamp. */
  timestamp?: number;
  headers?: Record<string, string>;
}

/** A message as a consumer sees it. */
export interface InMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Buffer;
  timestamp: number;
  headers: Record<string, string>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Broker topic configs, e.g. `{ 'max.message.bytes': '8388608' }`. */
  config?: Record<string, string>;
}

export interface SubscribeOptions {
  topic: string;
  /** Consumer group: members share partitions; offsets are kept per group. */
  group: string;
  /** Where a group with no committed offset starts. */
  fromBeginning?: boolean;
  /**
   * Called once per message, in order per key. The offset is committed only after it
   * resolves; if it throws, the message is delivered again.
   */
  handle(message: InMessage): Promise<void>;
  /**
   * `auto` (default): a message's offset commits when its handler resolves.
   * `manual`: a resolved handler only moves consumption on; offsets commit when the
   * subscriber calls `commit` — for consumers that run ahead of work finishing later. After a
   * restart or a rebalance, a partition resumes at its last commit.
   */
  commit?: 'auto' | 'manual';
}

export interface Subscription {
  /** Stops consuming after in-flight handlers finish (`auto`: and commits their offsets). */
  close(): Promise<void>;
  /** `manual`: everything before `offset` in `partition` is done. Ignored for a partition this member no longer owns. */
  commit(partition: number, offset: string): Promise<void>;
  /** Stops fetching (in-flight handlers finish) but keeps the partitions, so commits still land. */
  pause(): Promise<void>;
  /** Partitions this member owns now. */
  assigned(): number[];
  /**
   * Per partition, the offset after the last message that existed when this subscription
   * started: messages before it were published before this process came (a replay when they
   * come after the group's commit).
   */
  readonly startEnds: ReadonlyMap<number, string>;
}

/**
 * The stream between services (Kafka in distributed mode). Services depend on this
 * interface only, so the transport can change without touching them.
 */
export interface Bus {
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  publish(topic: string, messages: OutMessage[]): Promise<void>;
  subscribe(opts: SubscribeOptions): Promise<Subscription>;
  /** True while the bus can reach its broker(s). */
  healthy(): boolean;
  close(): Promise<void>;
}
