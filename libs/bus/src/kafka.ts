import { Kafka, Partitioners, logLevel, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Logger } from '@vigil/observability';
import type { Bus, OutMessage, SubscribeOptions, Subscription, TopicSpec } from './bus.ts';
import { applyKafkajsIdleFix } from './kafkajs-idle-fix.ts';

applyKafkajsIdleFix();

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

/** Bus over Apache Kafka (kafkajs). */
export class KafkaBus implements Bus {
  private readonly kafka: Kafka;
  private producer?: Producer;
  private producerReady?: Promise<Producer>;
  private readonly consumers = new Set<Consumer>();
  /** Producer and consumers with a live connection: healthy while any is (a reader-only service publishes nothing). */
  private readonly live = new Set<object>();
  private closed = false;

  constructor(private readonly opts: KafkaBusOptions) {
    const log = opts.logger.child({ component: 'kafka' });
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...rest } = entry;
          if (level <= logLevel.ERROR) log.error(rest, message);
          else log.warn(rest, message);
        },
    });
  }

  /**
   * Creates the topics that are missing. Replicas starting together race to create them: the
   * loser sees the topic half-made (UNKNOWN_TOPIC_OR_PARTITION, no leader yet), which kafkajs
   * marks retriable, so the whole check runs again.
   */
  ensureTopics(specs: TopicSpec[]): Promise<void> {
    return retrying(() => this.ensureTopicsOnce(specs));
  }

  private async ensureTopicsOnce(specs: TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: -1,
          configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    } finally {
      await admin.disconnect();
    }
  }

  async publish(topic: string, messages: OutMessage[]): Promise<void> {
    const producer = await this.getProducer();
    await producer.send({
      topic,
      messages: messages.map((m) => ({
        key: m.key,
        value: m.value,
        timestamp: m.timestamp !== undefined ? String(Math.round(m.timestamp)) : undefined,
        headers: m.headers,
      })),
    });
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: opts.group,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxBytesPerPartition: 8 * 1024 * 1024,
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    this.consumers.add(consumer);
    const manual = opts.commit === 'manual';
    const startEnds = new Map<number, string>();
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const p of await retrying(() => admin.fetchTopicOffsets(opts.topic))) startEnds.set(p.partition, p.high);
    } finally {
      await admin.disconnect();
    }
    // The partitions this member owns, from each group join (commits go only to those).
    let assigned: number[] = [];
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assigned = [...(e.payload.memberAssignment[opts.topic] ?? [])];
    });
    consumer.on(consumer.events.CONNECT, () => this.live.add(consumer));
    consumer.on(consumer.events.DISCONNECT, () => this.live.delete(consumer));
    consumer.on(consumer.events.CRASH, () => this.live.delete(consumer));
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: opts.fromBeginning ?? false });
    await consumer.run({
      autoCommit: !manual,
      autoCommitInterval: 1000,
      eachMessage: async ({ topic, partition, message }) => {
        await opts.handle({
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? '',
          value: message.value ?? Buffer.alloc(0),
          timestamp: Number(message.timestamp),
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v ?? '')])),
        });
      },
    });
    let closing: Promise<void> | undefined;
    return {
      startEnds,
      assigned: () => [...assigned],
      commit: async (partition, offset) => {
        if (!manual || !assigned.includes(partition)) return;
        await consumer.commitOffsets([{ topic: opts.topic, partition, offset }]);
      },
      pause: async () => consumer.pause([{ topic: opts.topic }]),
      close: () =>
        (closing ??= (async () => {
          this.consumers.delete(consumer);
          this.live.delete(consumer);
          await consumer.disconnect();
        })()),
    };
  }

  healthy(): boolean {
    return this.live.size > 0 && !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const steps = [...this.consumers].map((c) => c.disconnect());
    if (this.producer) steps.push(this.producer.disconnect());
    const results = await Promise.allSettled(steps);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private getProducer(): Promise<Producer> {
    if (this.closed) return Promise.reject(new Error('bus is closed'));
    this.producerReady ??= (async () => {
      const p = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      p.on(p.events.CONNECT, () => this.live.add(p));
      p.on(p.events.DISCONNECT, () => this.live.delete(p));
      await p.connect();
      this.producer = p;
      return p;
    })().catch((e: unknown) => {
      this.producerReady = undefined;
      throw e;
    });
    return this.producerReady;
  }
}

/**
 * Retries a metadata call while the broker says to (a topic just created may have no leader
 * yet: NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE), for up to about 10 s.
 */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (!(e as { retriable?: boolean }).retriable || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
    }
  }
}
