// compose.yaml, checked without a Docker engine: structure, health checks, start order,
// interpolation against .env.example, and the mounted Vigil config through `vigil validate`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseConfig } from '@vigil/config';
import { ROOT } from './render.ts';

const text = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');
const compose = parse(text, { merge: true }) as { services: Record<string, any>; volumes?: Record<string, unknown> };
const services = compose.services;
const ONE_SHOT = new Set(['topics']);
const VIGIL = ['ingest', 'infer', 'alerts'] as const;

function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    out[t.slice(0, t.indexOf('='))] = t.slice(t.indexOf('=') + 1);
  }
  return out;
}
const dotenv = readEnvFile(join(ROOT, '.env.example'));

/** compose's interpolation of ${VAR}, ${VAR:-default}, ${VAR:?error} (what `docker compose config` does). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_m, name: string, op: string | undefined, arg: string) => {
    const v = env[name];
    const set = op?.startsWith(':') ? v !== undefined && v !== '' : v !== undefined;
    if (set) return v!;
    if (op?.endsWith('?')) throw new Error(`compose: ${name} is required: ${arg}`);
    return op ? arg : '';
  });
}

test('compose.yaml: every service has an image or a build, and long-running ones a health check', () => {
  assert.ok(Object.keys(services).length >= 10);
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image || s.build, `${name}: image or build`);
    if (ONE_SHOT.has(name)) {
      assert.equal(s.restart, 'no', `${name}: a one-shot does not restart`);
      continue;
    }
    assert.ok(s.healthcheck?.test && !s.healthcheck.disable, `${name}: health check`);
  }
  for (const name of ['kafka', 'postgres', 'redis', 'nats', 'ingest', 'infer', 'alerts', 'rtsp', 'camera-sim', 'nim']) assert.ok(services[name], `service ${name}`);
});

test('compose.yaml: depends_on names real services, waits for health where there is one, and runs topics first', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, cond] of Object.entries((s.depends_on ?? {}) as Record<string, { condition: string }>)) {
      assert.ok(services[dep], `${name} → ${dep} exists`);
      if (cond.condition === 'service_healthy') assert.ok(services[dep].healthcheck?.test, `${name} → ${dep}: has a health check to wait for`);
      if (cond.condition === 'service_completed_successfully') assert.ok(ONE_SHOT.has(dep), `${name} → ${dep}: a one-shot`);
    }
  }
  for (const name of VIGIL) {
    const deps = services[name].depends_on;
    for (const d of ['kafka', 'postgres', 'redis', 'nats']) assert.equal(deps[d]?.condition, 'service_healthy', `${name} waits for ${d}`);
    assert.equal(deps.topics?.condition, 'service_completed_successfully', `${name} waits for the topics`);
  }
});

test('compose.yaml: named volumes are declared and bind mounts exist', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const v of (s.volumes ?? []) as string[]) {
      const src = v.split(':')[0]!;
      if (src.startsWith('.')) assert.ok(existsSync(join(ROOT, src)), `${name}: ${src} exists`);
      else assert.ok(compose.volumes && src in compose.volumes, `${name}: volume ${src} declared`);
    }
  }
});

test('compose.yaml: every ${VAR} it needs without a default is in .env.example', () => {
  const refs = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?/g)];
  assert.ok(refs.length > 0);
  for (const [, name, op] of refs) if (!op || op.endsWith('?')) assert.ok(name! in dotenv && dotenv[name!] !== '', `${name} has a value in .env.example`);
});

test('compose.yaml: Kafka is the official image in KRaft mode; NIM is an optional profile with a GPU and KV cache reuse', () => {
  const k = services.kafka;
  assert.match(k.image, /^apache\/kafka:/);
  assert.match(k.environment.KAFKA_PROCESS_ROLES, /controller/);
  assert.equal(k.environment.KAFKA_AUTO_CREATE_TOPICS_ENABLE, 'false', 'topics come from the topics service');
  const nim = services.nim;
  assert.deepEqual(nim.profiles, ['nim']);
  const gpu = nim.deploy.resources.reservations.devices[0];
  assert.equal(gpu.driver, 'nvidia');
  assert.deepEqual(gpu.capabilities, ['gpu']);
  assert.ok('NGC_API_KEY' in nim.environment);
  assert.equal(nim.environment.NIM_ENABLE_KV_CACHE_REUSE, '1', 'prefix caching on: the questions of a window share the video');
  assert.match(nim.healthcheck.test.join(' '), /\/v1\/health\/ready/);
  assert.ok(nim.volumes.some((v: string) => v.endsWith(':/opt/nim/.cache')));
});

for (const name of VIGIL) {
  test(`compose.yaml: ${name} gets the env its config reads, passes \`vigil validate\`, and its health check hits its port`, () => {
    const s = services[name];
    assert.deepEqual(s.command, ['run', '--config', '/etc/vigil/vigil.yaml', '--service', name]);
    const mount = (s.volumes as string[]).find((v) => v.split(':')[1] === '/etc/vigil/vigil.yaml');
    assert.ok(mount, `${name}: config mounted at /etc/vigil/vigil.yaml`);
    const file = join(ROOT, mount.split(':')[0]!);
    // The container's environment: env_file (.env, from .env.example), then environment.
    assert.ok((s.env_file as { path: string }[]).some((f) => f.path === '.env'));
    const env: Record<string, string> = { ...dotenv };
    for (const [k, v] of Object.entries(s.environment as Record<string, string>)) env[k] = interpolate(String(v), dotenv);
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/vigil.js'), 'validate', file], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    assert.equal(r.status, 0, `vigil validate ${file}\n${r.stderr}`);
    const config = parseConfig(readFileSync(file, 'utf8'), file, env);
    assert.ok(config.kafka && config.postgres && config.redis && config.nats, 'no embedded stand-ins');
    for (const url of [config.postgres!.url, config.redis!.url, config.nats!.url, `kafka://${config.kafka!.brokers[0]}`]) {
      assert.ok(services[new URL(url).hostname], `${url}: host is a compose service`);
    }
    for (const cam of config.cameras) {
      const host = new URL(cam.url).hostname;
      assert.ok(services[host], `camera ${cam.id}: ${host} is a compose service`);
    }
    if (name === 'alerts') {
      const ev = (s.volumes as string[]).find((v) => v.split(':')[1] === config.alerts.evidence.dir);
      assert.ok(ev && compose.volumes && ev.split(':')[0]! in compose.volumes, `alerts: a named volume at ${config.alerts.evidence.dir}`);
    }
    const port = name === 'alerts' ? config.http.port : name === 'ingest' ? config.ingest.metricsPort : config.infer.metricsPort;
    assert.match((s.healthcheck.test as string[]).join(' '), new RegExp(`127\\.0\\.0\\.1:${port}/healthz`));
  });
}

test('compose.yaml: the model URL defaults to the nim service', () => {
  const env: Record<string, string> = { ...dotenv };
  delete env.VIGIL_MODEL_URL;
  assert.equal(interpolate(services.infer.environment.VIGIL_MODEL_URL, env), 'http://nim:8000');
});
