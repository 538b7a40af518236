/**
 * Creates Vigil's Kafka topics with their partitions and settings, and brings existing ones
 * in line: partitions are raised (never lowered; Kafka cannot), settings are replaced by the
 * ones given. Run once per deploy (compose's `topics` service, the k8s `kafka-topics` Job):
 *
 *   node --import tsx deploy/kafka-topics.ts --bootstrap kafka:9092 --replication-factor 3 \
 *     --topic vigil.frames=24,retention.ms=21600000,max.message.bytes=8388608 …
 *
 * Each --topic is `name=partitions[,setting=value…]`. --bootstrap defaults to $KAFKA_BOOTSTRAP
 * (comma-separated); --prefix (tests only) is put before every topic name.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS: not every export is visible to an ESM named import.
const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

/** One topic as the command line describes it. */
export interface TopicSpec {
  name: string;
  partitions: number;
  config: Record<string, string>;
}

/** Parses `name=partitions[,key=value…]`; throws with the offending text on a bad spec. */
export function parseTopicSpec(text: string): TopicSpec {
  const [head, ...settings] = text.split(',');
  const m = /^([A-Za-z0-9._-]+)=(\d+)$/.exec(head ?? '');
  if (!m) throw new Error(`--topic "${text}": expected name=partitions[,setting=value…]`);
  const partitions = Number(m[2]);
  if (partitions < 1) throw new Error(`--topic "${text}": partitions must be at least 1`);
  const config: Record<string, string> = {};
  for (const s of settings) {
    const kv = /^([a-z][a-z0-9.]*)=(.+)$/.exec(s);
    if (!kv) throw new Error(`--topic "${text}": bad setting "${s}" (expected key=value)`);
    config[kv[1]!] = kv[2]!;
  }
  return { name: m[1]!, partitions, config };
}

/** What `applyTopics` did to each topic. */
export type TopicAction = { topic: string; action: 'created' | 'updated'; partitions: number };

/** Creates or updates every topic; returns what it did, in the order given. */
export async function applyTopics(opts: { brokers: string[]; replicationFactor: number; topics: TopicSpec[] }): Promise<TopicAction[]> {
  const kafka = new Kafka({
    clientId: 'vigil-topics',
    brokers: opts.brokers,
    logLevel: logLevel.ERROR,
    retry: { initialRetryTime: 500, retries: 10, maxRetryTime: 10_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = opts.topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: opts.replicationFactor,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    const present = opts.topics.filter((t) => existing.has(t.name));
    if (present.length > 0) {
      const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
      const grow = present.filter((t) => (counts.get(t.name) ?? 0) < t.partitions);
      if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })) });
      for (const t of present) {
        const have = counts.get(t.name) ?? 0;
        if (have > t.partitions) process.stderr.write(`kafka-topics: ${t.name} has ${have} partitions, more than ${t.partitions}; left as it is\n`);
      }
      await admin.alterConfigs({
        validateOnly: false,
        resources: present.map((t) => ({
          type: ConfigResourceTypes.TOPIC,
          name: t.name,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    return opts.topics.map((t) => ({ topic: t.name, action: existing.has(t.name) ? 'updated' : 'created', partitions: t.partitions }));
  } finally {
    await admin.disconnect();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      bootstrap: { type: 'string' },
      'replication-factor': { type: 'string', default: '1' },
      prefix: { type: 'string', default: '' },
      topic: { type: 'string', multiple: true },
    },
  });
  const bootstrap = values.bootstrap ?? process.env.KAFKA_BOOTSTRAP;
  if (!bootstrap) throw new Error('--bootstrap (or KAFKA_BOOTSTRAP) is required');
  const topics = (values.topic ?? []).map(parseTopicSpec).map((t) => ({ ...t, name: `${values.prefix}${t.name}` }));
  if (topics.length === 0) throw new Error('name at least one --topic');
  const replicationFactor = Number(values['replication-factor']);
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) throw new Error('--replication-factor must be a positive integer');
  const done = await applyTopics({ brokers: bootstrap.split(',').map((b) => b.trim()).filter(Boolean), replicationFactor, topics });
  for (const d of done) process.stdout.write(`kafka-topics: ${d.topic} ${d.action} (${d.partitions} partitions)\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`kafka-topics: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
