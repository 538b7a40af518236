/**
 * How each Kafka topic is kept: the one table every creator of the topics reads (each
 * service's ensureTopics, and deploy/kafka-topics.ts, which compose's `topics` job and the
 * k8s `kafka-topics` Job run with a profile). The sizing behind the numbers is in
 * docs/deployment.md ("Kafka: partitions and retention").
 */
import { Topics } from './topics.ts';

export type TopicName = (typeof Topics)[keyof typeof Topics];

export interface TopicSettings {
  /** The key is the camera id: partitions bound how many consumers (infer pods) share a topic. */
  partitions: number;
  retentionMs: number;
  /** Largest message the broker takes; unset: its default (1 MB). */
  maxMessageBytes?: number;
  /** Age at which a segment is closed, and so can be deleted; unset: the broker's (7 days). */
  segmentMs?: number;
  cleanup: 'delete' | 'compact';
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Room for a 1 s chunk of a high-fps camera, and a finding that carries its window's frames. */
const EIGHT_MIB = 8 * 1024 * 1024;

/** One broker (compose, the dev overlay, a service creating a topic that is missing). */
export const TOPIC_SETTINGS: Readonly<Record<TopicName, TopicSettings>> = {
  // Frames are perishable (infer reads the last 30 s): an hour rides out an infer outage.
  [Topics.frames]: { partitions: 6, retentionMs: HOUR, segmentMs: 10 * MINUTE, maxMessageBytes: EIGHT_MIB, cleanup: 'delete' },
  [Topics.findings]: { partitions: 6, retentionMs: 7 * DAY, maxMessageBytes: EIGHT_MIB, cleanup: 'delete' },
  // Tiles show the newest picture: ten minutes is plenty, and a thumbnail is a few KB.
  [Topics.thumbs]: { partitions: 3, retentionMs: 10 * MINUTE, segmentMs: 10 * MINUTE, cleanup: 'delete' },
  [Topics.cameraStatus]: { partitions: 3, retentionMs: 7 * DAY, cleanup: 'delete' },
  // A rejected message is kept whole, whatever its size, for someone to look at.
  [Topics.deadLetter]: { partitions: 1, retentionMs: 14 * DAY, maxMessageBytes: EIGHT_MIB, cleanup: 'delete' },
};

/** What a production cluster (k8s/overlays/prod) changes: three replicas, more partitions, longer retention. */
export const PRODUCTION_TOPICS = {
  replicationFactor: 3,
  /** With 3 replicas, a write survives one broker down. */
  minInsyncReplicas: 2,
  topics: {
    [Topics.frames]: { partitions: 24 },
    [Topics.findings]: { partitions: 12, retentionMs: 14 * DAY },
    [Topics.thumbs]: { partitions: 6 },
    [Topics.cameraStatus]: { partitions: 6, retentionMs: 14 * DAY },
    [Topics.deadLetter]: { partitions: 3, retentionMs: 30 * DAY },
  } satisfies Record<TopicName, Partial<TopicSettings>>,
} as const;

export type TopicProfile = 'single-host' | 'production';
export const TOPIC_PROFILES: readonly TopicProfile[] = ['single-host', 'production'];

/** A topic as Kafka's admin API creates it: partitions and broker topic configs. */
export interface KafkaTopic {
  topic: string;
  partitions: number;
  config: Record<string, string>;
}

/** The topics (all, or `names`) and their replication factor under a profile. */
export function topicPlan(profile: TopicProfile, names: readonly TopicName[] = Object.values(Topics)): { replicationFactor: number; topics: KafkaTopic[] } {
  if (!TOPIC_PROFILES.includes(profile)) throw new Error(`unknown topic profile ${JSON.stringify(profile)} (${TOPIC_PROFILES.join(' or ')})`);
  const prod = profile === 'production';
  const topics = names.map((topic) => {
    const s: TopicSettings = { ...TOPIC_SETTINGS[topic], ...(prod ? PRODUCTION_TOPICS.topics[topic] : {}) };
    const config: Record<string, string> = { 'cleanup.policy': s.cleanup, 'retention.ms': String(s.retentionMs) };
    if (s.segmentMs !== undefined) config['segment.ms'] = String(s.segmentMs);
    if (s.maxMessageBytes !== undefined) config['max.message.bytes'] = String(s.maxMessageBytes);
    if (prod) config['min.insync.replicas'] = String(PRODUCTION_TOPICS.minInsyncReplicas);
    return { topic, partitions: s.partitions, config };
  });
  return { replicationFactor: prod ? PRODUCTION_TOPICS.replicationFactor : 1, topics };
}

/** What a service creates when a topic is missing (one broker's settings; deploys create them first). */
export function topicSpecs(names: readonly TopicName[]): KafkaTopic[] {
  return topicPlan('single-host', names).topics;
}
