// The image recipe (no Docker engine here: the Dockerfile is read, not built), the topic
// tool against the real test broker, the camera simulator's filter graph, and the Grafana
// dashboard against the metrics the services register.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { topicPlan } from '@vigil/contracts';
import { applyTopics, parseTopicSpec } from '../../deploy/kafka-topics.ts';
import { ROOT } from './render.ts';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

/** Whether .dockerignore keeps `path` out of the build context (the patterns this repo uses). */
function ignored(path: string): boolean {
  let out = false;
  for (const raw of ignore) {
    const neg = raw.startsWith('!');
    const pat = neg ? raw.slice(1) : raw;
    const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '(.*/)?')}(/.*)?$`);
    if (re.test(path)) out = !neg;
  }
  return out;
}

test('Dockerfile: multi-stage, non-root, ffmpeg and fonts, one entrypoint for every service', () => {
  const froms = instructions.filter((l) => /^FROM /i.test(l));
  assert.ok(froms.length >= 3, 'several stages');
  const finalStage = instructions.slice(instructions.lastIndexOf(froms.at(-1)!));
  const user = finalStage.find((l) => /^USER /.test(l));
  assert.ok(user && !/^USER (root|0)(:|$)/.test(user.slice(5)), 'the final stage runs as a non-root user');
  assert.ok(finalStage.some((l) => /apt-get install .*\bffmpeg\b.*\bfonts-dejavu-core\b/.test(l)), 'ffmpeg and the DejaVu fonts');
  assert.ok(finalStage.some((l) => /^ENTRYPOINT \["node", ("--[^"]+", )*"bin\/vigil\.js"\]/.test(l)));
  assert.ok(instructions.some((l) => /npm ci --omit=dev/.test(l)), 'production dependencies only');
  assert.ok(instructions.some((l) => /^ARG ONNXRUNTIME_EP=cpu$/.test(l)), 'CPU onnxruntime by default');
  assert.ok(instructions.some((l) => /--onnxruntime-node-install="\$ONNXRUNTIME_EP"/.test(l)), 'the CUDA build is a build argument');
  for (const port of ['8080', '9101', '9102']) assert.ok(finalStage.some((l) => l.startsWith('EXPOSE') && l.includes(port)));
});

test('Dockerfile: everything it copies from the context exists and is not excluded by .dockerignore', () => {
  const copies = instructions.filter((l) => /^COPY /.test(l) && !/--from=/.test(l));
  assert.ok(copies.length > 0);
  for (const c of copies) {
    const parts = c.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      assert.ok(existsSync(join(ROOT, src)), `${src} exists`);
      assert.ok(!ignored(src), `${src} is in the build context`);
    }
  }
  for (const p of ['node_modules', 'libs/dashboard/node_modules', '.git', '.env', 'test', '.cache']) assert.ok(ignored(p), `${p} stays out of the context`);
});

test('the runtime needs nothing from devDependencies: tsx and every workspace are dependencies', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.ok(pkg.dependencies.tsx, 'tsx (bin/vigil.js registers it) is a runtime dependency');
  for (const s of ['@vigil/ingest', '@vigil/infer', '@vigil/alerts', '@vigil/config', '@vigil/platform']) assert.ok(pkg.dependencies[s], s);
  const kafka = JSON.parse(readFileSync(join(ROOT, 'libs/bus/package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.ok(kafka.dependencies.kafkajs, 'kafkajs (deploy/kafka-topics.ts) is installed with --omit=dev');
});

test('kafka-topics: parses topic specs and rejects bad ones', () => {
  assert.deepEqual(parseTopicSpec('vigil.frames=24,retention.ms=3600000,max.message.bytes=8388608'), {
    name: 'vigil.frames',
    partitions: 24,
    config: { 'retention.ms': '3600000', 'max.message.bytes': '8388608' },
  });
  assert.throws(() => parseTopicSpec('vigil.frames'), /expected name=partitions/);
  assert.throws(() => parseTopicSpec('vigil.frames=0'), /at least 1/);
  assert.throws(() => parseTopicSpec('vigil.frames=3,retention'), /bad setting "retention"/);
});

const broker = `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`;
const brokerUp = await new Promise<boolean>((resolve) => {
  const s = createConnection({ host: '127.0.0.1', port: Number(process.env.KAFKA_PORT ?? 9092) }, () => (s.destroy(), resolve(true)));
  s.on('error', () => resolve(false));
  s.setTimeout(1000, () => (s.destroy(), resolve(false)));
});

test('kafka-topics: creates topics, then raises partitions and resets settings (real broker)', { skip: brokerUp ? false : `no Kafka at ${broker}` }, async () => {
  const prefix = `deploytest-${process.pid}-${Date.now()}.`;
  const frames = `${prefix}vigil.frames`;
  const run = (partitions: number, retention: number) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'deploy/kafka-topics.ts'), `--bootstrap=${broker}`, `--prefix=${prefix}`, `--topic=vigil.frames=${partitions},retention.ms=${retention},max.message.bytes=8388608`, '--topic=vigil.dead-letter=1'], {
      encoding: 'utf8',
      cwd: ROOT,
    });
  const admin = new kafkajs.Kafka({ brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const first = run(2, 3_600_000);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /vigil\.frames created \(2 partitions\)/);
    const second = run(4, 7_200_000);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /vigil\.frames updated \(4 partitions\)/);
    const meta = await admin.fetchTopicMetadata({ topics: [frames] });
    assert.equal(meta.topics[0]!.partitions.length, 4);
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: frames }] });
    const entries = new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    assert.equal(entries.get('retention.ms'), '7200000');
    assert.equal(entries.get('max.message.bytes'), '8388608');
    // The function form, as the Job runs it, is idempotent.
    const again = await applyTopics({ brokers: [broker], replicationFactor: 1, topics: [{ name: frames, partitions: 4, config: { 'retention.ms': '7200000' } }] });
    assert.deepEqual(again, [{ topic: frames, action: 'updated', partitions: 4 }]);
  } finally {
    await admin.deleteTopics({ topics: [frames, `${prefix}vigil.dead-letter`] }).catch(() => undefined);
    await admin.disconnect();
  }
});

test('kafka-topics: a profile creates every topic of the table with its settings (real broker)', { skip: brokerUp ? false : `no Kafka at ${broker}` }, async () => {
  const prefix = `deploytest-${process.pid}-${Date.now()}.`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'deploy/kafka-topics.ts'), `--bootstrap=${broker}`, `--prefix=${prefix}`, '--profile=single-host'], { encoding: 'utf8', cwd: ROOT });
  const plan = topicPlan('single-host').topics;
  const admin = new kafkajs.Kafka({ brokers: [broker], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    assert.equal(run.status, 0, run.stderr);
    for (const t of plan) assert.ok(run.stdout.includes(`${prefix}${t.topic} created (${t.partitions} partitions)`), run.stdout);
    const described = await admin.describeConfigs({ includeSynonyms: false, resources: plan.map((t) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name: prefix + t.topic })) });
    for (const [i, t] of plan.entries()) {
      const entries = new Map(described.resources[i]!.configEntries.map((e) => [e.configName, e.configValue]));
      for (const [k, v] of Object.entries(t.config)) assert.equal(entries.get(k), v, `${t.topic} ${k}`);
    }
  } finally {
    await admin.deleteTopics({ topics: plan.map((t) => prefix + t.topic) }).catch(() => undefined);
    await admin.disconnect();
  }
});

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
test('camera-sim.sh: its ffmpeg filter graph renders for a plain and a red-object camera', { skip: hasFfmpeg ? false : 'ffmpeg not installed' }, () => {
  const r = spawnSync('sh', [join(ROOT, 'deploy/camera-sim.sh')], { encoding: 'utf8', env: { ...process.env, SIM_DRY_RUN: '1', CAMERAS: 'dock-1:red street-1' }, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
});

test('Grafana dashboard: valid JSON whose queries name only metrics the services register', () => {
  const dash = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/vigil-dashboard.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  const registered = new Set<string>();
  for (const svc of readdirSync(join(ROOT, 'services'))) {
    const dir = join(ROOT, 'services', svc, 'src');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      if (!f.endsWith('.ts')) continue;
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/name: '(vigil_[a-z0-9_]+)'/g)) registered.add(m[1]!);
    }
  }
  const used = new Set<string>();
  for (const p of dash.panels) for (const t of p.targets ?? []) for (const m of t.expr.matchAll(/\b(vigil_[a-z0-9_]+?)(_bucket|_sum|_count)?\b/g)) used.add(m[1]!);
  assert.ok(used.size >= 10, `the dashboard charts many metrics (${used.size})`);
  for (const m of used) assert.ok(registered.has(m), `${m} is registered by a service`);
});
