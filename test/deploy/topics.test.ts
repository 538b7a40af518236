// The topics every deploy creates come from the one table (libs/contracts/src/topic-settings.ts):
// compose's `topics` job and each overlay's `kafka-topics` Job, read the way the tool reads
// them, resolve to exactly a profile of it; docs/deployment.md shows the same numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PRODUCTION_TOPICS, TOPIC_SETTINGS, Topics, topicPlan, topicSpecs, type TopicProfile } from '@vigil/contracts';
import { parseTopicsArgs } from '../../deploy/kafka-topics.ts';
import { podSpecOf } from './kustomize-lite.ts';
import { render, ROOT } from './render.ts';

/** What the tool applies for a profile, in the shape parseTopicsArgs returns. */
function expected(profile: TopicProfile) {
  const plan = topicPlan(profile);
  return { replicationFactor: plan.replicationFactor, topics: plan.topics.map((t) => ({ name: t.topic, partitions: t.partitions, config: t.config })) };
}

const TOOL = ['node', '--import', 'tsx', 'deploy/kafka-topics.ts'];

test('compose.yaml: the topics job applies the single-host profile of the table, and nothing else', () => {
  const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, any> };
  const job = compose.services.topics;
  assert.deepEqual(job.entrypoint, TOOL);
  const { bootstrap, ...applied } = parseTopicsArgs(job.command);
  assert.equal(bootstrap, 'kafka:9092');
  assert.deepEqual(applied, expected('single-host'));
});

for (const [overlay, profile] of [['dev', 'single-host'], ['prod', 'production']] as const) {
  test(`k8s ${overlay}: the kafka-topics Job applies the ${profile} profile of the table, and nothing else`, () => {
    const job = render(overlay).objects.find((o) => o.kind === 'Job' && o.metadata.name === 'kafka-topics');
    assert.ok(job, 'Job/kafka-topics is rendered');
    const [c] = podSpecOf(job)!.containers as { command: string[]; args: string[] }[];
    assert.deepEqual(c!.command, TOOL);
    const { bootstrap, ...applied } = parseTopicsArgs(c!.args);
    assert.equal(bootstrap, undefined, 'brokers come from KAFKA_BOOTSTRAP, as for every Vigil pod');
    assert.deepEqual(applied, expected(profile));
  });
}

test('the table: every topic has settings; production raises partitions and adds replicas; services create the single-host ones', () => {
  assert.deepEqual(Object.keys(TOPIC_SETTINGS).sort(), Object.values(Topics).sort());
  const prod = topicPlan('production');
  assert.equal(prod.replicationFactor, 3);
  for (const t of prod.topics) {
    assert.equal(t.config['min.insync.replicas'], '2', t.topic);
    // Kafka cannot take partitions away: moving a deploy to production only ever adds them.
    assert.ok(t.partitions >= TOPIC_SETTINGS[t.topic as keyof typeof TOPIC_SETTINGS].partitions, t.topic);
  }
  assert.ok(PRODUCTION_TOPICS.minInsyncReplicas < PRODUCTION_TOPICS.replicationFactor, 'a write survives a broker down');
  // What a service creates when a topic is missing: the same settings, the dead letter's size included.
  assert.deepEqual(topicSpecs([Topics.deadLetter]), [
    { topic: 'vigil.dead-letter', partitions: 1, config: { 'cleanup.policy': 'delete', 'retention.ms': String(14 * 86_400_000), 'max.message.bytes': String(8 * 1024 * 1024) } },
  ]);
  assert.equal(topicSpecs([Topics.frames])[0]!.config['retention.ms'], String(3_600_000));
  assert.throws(() => parseTopicsArgs(['--profile=staging']), /unknown topic profile "staging" \(single-host or production\)/);
});

test('docs/deployment.md: the topics table shows the partitions, retention and message size of the table', () => {
  const text = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `(vigil\.[a-z-]+)` \| (\d+) \| (\d+) \| ([^|]+) \| ([^|]+) \|$/gm)];
  assert.deepEqual(rows.map((r) => r[1]).sort(), Object.values(Topics).sort());
  const UNIT: Record<string, number> = { min: 60_000, h: 3_600_000, d: 86_400_000 };
  const ms = (s: string) => {
    const m = /^(\d+) (min|h|d)\b/.exec(s.trim());
    assert.ok(m, `a retention like "1 h", "7 d" or "10 min": ${s}`);
    return Number(m[1]) * UNIT[m[2]!]!;
  };
  const plan = (p: TopicProfile) => new Map(topicPlan(p).topics.map((t) => [t.topic, t]));
  const [single, prod] = [plan('single-host'), plan('production')];
  for (const [, name, dev, big, retention, size] of rows) {
    const [s, p] = [single.get(name!)!, prod.get(name!)!];
    assert.deepEqual([Number(dev), Number(big)], [s.partitions, p.partitions], `${name}: partitions`);
    const [r1, r2 = r1] = retention!.split(' / ');
    assert.deepEqual([ms(r1!), ms(r2!)], [Number(s.config['retention.ms']), Number(p.config['retention.ms'])], `${name}: retention`);
    const bytes = s.config['max.message.bytes'];
    assert.equal(size!.trim(), bytes ? `${Number(bytes) / 1024 / 1024} MiB` : 'default', `${name}: max message`);
  }
});
