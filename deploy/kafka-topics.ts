/**
 * Creates Vigil's Kafka topics with their partitions and settings, and brings existing ones
 * in line: partitions are raised (never lowered; Kafka cannot), settings are replaced by the
 * ones given. Run once per deploy (compose's `topics` service, the k8s `kafka-topics` Job):
 *
 *   node --import tsx deploy/kafka-topics.ts --bootstrap kafka:9092 --profile production
 *
 * The topics and their settings come from the table in @vigil/contracts (topic-settings.ts)
 * under a profile: `single-host` (the default; replication 1) or `production`. Each
 * `--topic name=partitions[,setting=value…]` instead names one topic to apply, and only those
 * (tests, or a one-off by hand); --replication-factor overrides the profile's. --bootstrap
 * defaults to $KAFKA_BOOTSTRAP (comma-separated); --prefix (tests only) is put before every
 * topic name.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import { topicPlan, type TopicProfile } from '@vigil/contracts';

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

/** What a command line asks for, `--bootstrap` aside: the profile's topics, or the `--topic`s given. */
export interface TopicsRequest {
  bootstrap?: string;
  replicationFactor: number;
  topics: TopicSpec[];
}

/** Reads the options (see the top of this file); throws naming the bad one. */
export function parseTopicsArgs(argv: string[]): TopicsRequest {
  const { values } = parseArgs({
    args: argv,
    options: {
      bootstrap: { type: 'string' },
      profile: { type: 'string', default: 'single-host' },
      'replication-factor': { type: 'string' },
      prefix: { type: 'string', default: '' },
      topic: { type: 'string', multiple: true },
    },
  });
  const plan = topicPlan(values.profile as TopicProfile);
  const given = (values.topic ?? []).map(parseTopicSpec);
  const topics = given.length > 0 ? given : plan.topics.map((t) => ({ name: t.topic, partitions: t.partitions, config: t.config }));
  const replicationFactor = values['replication-factor'] === undefined ? plan.replicationFactor : Number(values['replication-factor']);
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) throw new Error('--replication-factor must be a positive integer');
  return { bootstrap: values.bootstrap, replicationFactor, topics: topics.map((t) => ({ ...t, name: `${values.prefix}${t.name}` })) };
}

async function main(argv: string[]): Promise<number> {
  const { bootstrap = process.env.KAFKA_BOOTSTRAP, replicationFactor, topics } = parseTopicsArgs(argv);
  if (!bootstrap) throw new Error('--bootstrap (or KAFKA_BOOTSTRAP) is required');
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
