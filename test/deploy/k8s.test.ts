// The k8s/ overlays, rendered offline: schemas, cross-references, and the Vigil config they
// carry (run through `vigil validate` with exactly the environment a pod would see).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseConfig } from '@vigil/config';
import { kustomizeLite, podSpecOf, type K8sObject } from './kustomize-lite.ts';
import { kubectlKustomizeVersion, OVERLAYS, render, renderWithKubectl, ROOT, typecheckObjects, validateSchema } from './render.ts';
import { parseTopicsArgs } from '../../deploy/kafka-topics.ts';

/** Secrets the prod overlay expects to be created outside git (keys: prod/secrets.example.env). */
const EXTERNAL_SECRETS: Record<string, string[]> = { dev: [], prod: ['vigil-secrets', 'ngc-api', 'ngc-registry', 'vigil-tls'] };
const VIGIL_COMPONENTS = ['ingest', 'infer', 'alerts'] as const;

const rendered = new Map(OVERLAYS.map((o) => [o, render(o)]));
const objectsOf = (overlay: string) => rendered.get(overlay as (typeof OVERLAYS)[number])!.objects;

type Obj = K8sObject & { spec?: any; data?: Record<string, string> };
const find = (objs: K8sObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name) as Obj | undefined;
const get = (objs: K8sObject[], kind: string, name: string) => {
  const o = find(objs, kind, name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
};
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet']);
const workloads = (objs: K8sObject[]) => objs.filter((o) => WORKLOADS.has(o.kind)) as Obj[];
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const matchesSelector = (sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }, labels: Record<string, string> | undefined) =>
  Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v) &&
  (sel.matchExpressions ?? []).every((e) => {
    const v = labels?.[e.key];
    if (e.operator === 'In') return v !== undefined && (e.values ?? []).includes(v);
    if (e.operator === 'NotIn') return v === undefined || !(e.values ?? []).includes(v);
    if (e.operator === 'Exists') return v !== undefined;
    return v === undefined;
  });
const containers = (o: K8sObject): any[] => {
  const pod = podSpecOf(o);
  return pod ? [...(pod.containers ?? []), ...(pod.initContainers ?? [])] : [];
};
const templateLabels = (o: Obj): Record<string, string> | undefined => o.spec?.template?.metadata?.labels;
/** Whether a container declares `port` (a name or a number). */
const declaresPort = (c: any, port: string | number) => (c.ports ?? []).some((p: any) => p.name === port || p.containerPort === port);

/** The decoded data of a rendered ConfigMap or Secret, by its name before kustomize's hash suffix. */
function dataOf(objs: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name) as Obj | undefined;
  if (!o) return undefined;
  const data = o.data ?? {};
  return kind === 'Secret' ? Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v.replace(/\n/g, ''), 'base64').toString()])) : data;
}

function readEnvFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    out[t.slice(0, t.indexOf('='))] = t.slice(t.indexOf('=') + 1);
  }
  return out;
}

/** The environment a container starts with: envFrom ConfigMaps and Secrets, then env. */
function containerEnv(objs: K8sObject[], overlay: string, c: any): Record<string, string> {
  const env: Record<string, string> = {};
  const external = readEnvFile(join(ROOT, 'k8s/overlays/prod/secrets.example.env'));
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, dataOf(objs, 'ConfigMap', from.configMapRef.name) ?? assert.fail(`ConfigMap ${from.configMapRef.name} missing`));
    if (from.secretRef) {
      const data = dataOf(objs, 'Secret', from.secretRef.name) ?? (EXTERNAL_SECRETS[overlay]!.includes(from.secretRef.name) ? external : undefined);
      Object.assign(env, data ?? assert.fail(`Secret ${from.secretRef.name} missing`));
    }
  }
  for (const e of c.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}

test('kustomize-lite renders the same objects as kubectl kustomize', { skip: kubectlKustomizeVersion() ? false : 'kubectl (kustomize v4+) not installed' }, () => {
  const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  for (const overlay of OVERLAYS) {
    const real = renderWithKubectl(overlay).sort((a, b) => key(a).localeCompare(key(b)));
    const lite = JSON.parse(JSON.stringify(kustomizeLite(join(ROOT, 'k8s/overlays', overlay)))).sort((a: K8sObject, b: K8sObject) => key(a).localeCompare(key(b)));
    assert.deepEqual(lite.map(key), real.map(key), `${overlay}: same objects`);
    for (let i = 0; i < real.length; i++) assert.ok(isDeepStrictEqual(lite[i], real[i]), `${overlay}: ${key(real[i]!)} renders the same`);
  }
});

for (const overlay of OVERLAYS) {
  const objs = objectsOf(overlay);

  test(`${overlay}: every object validates against its Kubernetes schema (${rendered.get(overlay)!.renderer})`, () => {
    assert.ok(objs.length > 10);
    for (const o of objs) validateSchema(o);
  });

  test(`${overlay}: no object has a field its type does not know (tsc excess-property check)`, () => {
    assert.equal(typecheckObjects(objs, overlay), '');
  });

  test(`${overlay}: names are unique and everything namespaced is in the overlay's namespace`, () => {
    const keys = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    assert.equal(new Set(keys).size, keys.length, 'no duplicate kind/name');
    const ns = objs.find((o) => o.kind === 'Namespace')?.metadata.name;
    assert.ok(ns, 'a Namespace is rendered');
    for (const o of objs) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, ns, `${o.kind}/${o.metadata.name}`);
  });

  test(`${overlay}: workload selectors match their pod templates, and every pod is hardened and sized`, () => {
    for (const w of workloads(objs)) {
      if (w.kind !== 'Job') assert.ok(matches(w.spec.selector.matchLabels, templateLabels(w)), `${w.kind}/${w.metadata.name}: selector matches template labels`);
      for (const c of containers(w)) {
        for (const k of ['requests', 'limits']) {
          assert.ok(c.resources?.[k]?.cpu && c.resources?.[k]?.memory, `${w.metadata.name}/${c.name}: resources.${k} has cpu and memory`);
        }
        assert.ok(!String(c.image).includes('/') || String(c.image).includes(':'), `${w.metadata.name}/${c.name}: image has a tag (${c.image})`);
        for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
          const probe = c[p];
          if (!probe) continue;
          const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
          if (port !== undefined) assert.ok(declaresPort(c, port), `${w.metadata.name}/${c.name}: ${p} port ${port} is declared`);
        }
      }
    }
  });

  test(`${overlay}: ingest, infer and alerts run the Vigil image with the config mounted, probes on /healthz, non-root`, () => {
    for (const name of VIGIL_COMPONENTS) {
      const w = get(objs, name === 'ingest' ? 'StatefulSet' : 'Deployment', name);
      const [c] = containers(w);
      assert.deepEqual(c.args, ['run', '--config', '/etc/vigil/vigil.yaml', '--service', name]);
      assert.match(c.image, /vigil:/, `${name}: a tagged Vigil image`);
      for (const p of ['livenessProbe', 'readinessProbe']) assert.equal(c[p]?.httpGet?.path, '/healthz', `${name}: ${p} on /healthz`);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
      assert.equal(podSpecOf(w)!.securityContext?.runAsNonRoot, true);
      const mount = c.volumeMounts.find((m: any) => m.mountPath === '/etc/vigil');
      const vol = podSpecOf(w)!.volumes.find((v: any) => v.name === mount?.name);
      assert.ok(vol?.configMap?.name?.startsWith('vigil-config'), `${name}: /etc/vigil is the vigil-config ConfigMap`);
      assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/tmp'), `${name}: a writable /tmp (tsx's cache)`);
    }
  });

  test(`${overlay}: every ConfigMap, Secret and key a pod refers to exists`, () => {
    const external = EXTERNAL_SECRETS[overlay]!;
    const has = (kind: 'ConfigMap' | 'Secret', name: string) => !!find(objs, kind, name) || (kind === 'Secret' && external.includes(name));
    for (const w of workloads(objs)) {
      const pod = podSpecOf(w)!;
      for (const v of pod.volumes ?? []) {
        if (v.configMap) assert.ok(has('ConfigMap', v.configMap.name), `${w.metadata.name}: ConfigMap ${v.configMap.name}`);
        if (v.secret) assert.ok(has('Secret', v.secret.secretName), `${w.metadata.name}: Secret ${v.secret.secretName}`);
        if (v.persistentVolumeClaim) assert.ok(find(objs, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName), `${w.metadata.name}: PVC ${v.persistentVolumeClaim.claimName}`);
      }
      for (const s of pod.imagePullSecrets ?? []) assert.ok(has('Secret', s.name), `${w.metadata.name}: pull Secret ${s.name}`);
      for (const c of containers(w)) {
        for (const m of c.volumeMounts ?? []) assert.ok((pod.volumes ?? []).some((v: any) => v.name === m.name) || (w.spec.volumeClaimTemplates ?? []).some((t: any) => t.metadata.name === m.name), `${w.metadata.name}/${c.name}: volume ${m.name}`);
        for (const f of c.envFrom ?? []) {
          if (f.configMapRef) assert.ok(has('ConfigMap', f.configMapRef.name), `${w.metadata.name}: ConfigMap ${f.configMapRef.name}`);
          if (f.secretRef) assert.ok(has('Secret', f.secretRef.name), `${w.metadata.name}: Secret ${f.secretRef.name}`);
        }
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
          if (!ref) continue;
          const kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
          if (kind === 'Secret' && external.includes(ref.name)) continue;
          const data = dataOf(objs, kind, ref.name);
          assert.ok(data && ref.key in data, `${w.metadata.name}/${c.name}: ${kind} ${ref.name} has key ${ref.key}`);
        }
      }
    }
    for (const ing of objs.filter((o) => o.kind === 'Ingress') as Obj[]) for (const t of ing.spec.tls ?? []) assert.ok(has('Secret', t.secretName));
  });

  test(`${overlay}: Services select pods that declare their target ports; Ingress backends exist`, () => {
    for (const svc of objs.filter((o) => o.kind === 'Service') as Obj[]) {
      const pods = workloads(objs).filter((w) => matches(svc.spec.selector, templateLabels(w)));
      assert.ok(pods.length > 0, `Service ${svc.metadata.name} selects a workload`);
      for (const p of svc.spec.ports) {
        for (const w of pods) assert.ok(containers(w).some((c) => declaresPort(c, p.targetPort ?? p.port)), `Service ${svc.metadata.name} port ${p.name} → ${w.metadata.name} declares ${p.targetPort}`);
      }
    }
    for (const ing of objs.filter((o) => o.kind === 'Ingress') as Obj[]) {
      for (const rule of ing.spec.rules) {
        for (const path of rule.http.paths) {
          const svc = get(objs, 'Service', path.backend.service.name);
          assert.ok(svc.spec.ports.some((p: any) => p.name === path.backend.service.port.name || p.port === path.backend.service.port.number), `Ingress ${ing.metadata.name} → ${svc.metadata.name} port`);
        }
      }
    }
  });

  test(`${overlay}: PodDisruptionBudgets, the HPA and the ScaledObject point at real workloads`, () => {
    const pdbs = objs.filter((o) => o.kind === 'PodDisruptionBudget') as Obj[];
    for (const name of [...VIGIL_COMPONENTS, 'nim']) assert.ok(pdbs.some((p) => p.metadata.name === name), `PDB ${name}`);
    for (const pdb of pdbs) {
      assert.equal(workloads(objs).filter((w) => w.kind !== 'Job' && matchesSelector(pdb.spec.selector, templateLabels(w))).length, 1, `PDB ${pdb.metadata.name} covers exactly one workload`);
    }
    const scalers = objs.filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject') as Obj[];
    const targets = scalers.map((s) => `${s.spec.scaleTargetRef.kind ?? 'Deployment'}/${s.spec.scaleTargetRef.name}`);
    assert.equal(new Set(targets).size, targets.length, 'one autoscaler per workload');
    for (const s of scalers) get(objs, s.spec.scaleTargetRef.kind ?? 'Deployment', s.spec.scaleTargetRef.name);
    assert.ok(targets.includes('Deployment/alerts') && targets.includes('Deployment/infer'));
    for (const name of ['infer', 'alerts']) assert.equal(get(objs, 'Deployment', name).spec.replicas, undefined, `${name}: replicas left to the autoscaler`);
  });

  test(`${overlay}: ingest shards follow the StatefulSet (pod index → shard index, replicas = shard count)`, () => {
    const sts = get(objs, 'StatefulSet', 'ingest');
    const env = containers(sts)[0].env as any[];
    const index = env.find((e) => e.name === 'VIGIL_SHARD_INDEX');
    assert.equal(index?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['apps.kubernetes.io/pod-index']");
    assert.equal(env.find((e) => e.name === 'VIGIL_SHARD_COUNT')?.value, String(sts.spec.replicas));
    assert.equal(get(objs, 'Service', sts.spec.serviceName).spec.clusterIP, 'None', 'a headless governing Service');
  });

  test(`${overlay}: topics Job and KEDA agree: frames topic, consumer group, brokers, partitions bound the replicas`, () => {
    const job = get(objs, 'Job', 'kafka-topics');
    const topics = new Map(parseTopicsArgs(containers(job)[0].args as string[]).topics.map((t) => [t.name, t]));
    for (const t of ['vigil.frames', 'vigil.findings', 'vigil.camera-status', 'vigil.dead-letter']) assert.ok(topics.has(t), `topic ${t}`);
    const frames = topics.get('vigil.frames')!;
    assert.ok(Number(frames.config['max.message.bytes']) >= 8 * 1024 * 1024, 'frames: 8 MiB messages');
    assert.ok(Number(frames.config['retention.ms']) <= 6 * 3600_000, 'frames: short retention');
    assert.ok(Number(topics.get('vigil.findings')!.config['max.message.bytes']) >= 8 * 1024 * 1024, 'findings carry evidence frames');
    const so = get(objs, 'ScaledObject', 'infer');
    const trigger = so.spec.triggers.find((t: any) => t.type === 'kafka');
    assert.equal(trigger.metadata.topic, 'vigil.frames');
    assert.equal(trigger.metadata.consumerGroup, 'vigil-infer');
    const env = containerEnv(objs, overlay, containers(get(objs, 'Deployment', 'infer'))[0]);
    assert.equal(trigger.metadata.bootstrapServers, env.KAFKA_BOOTSTRAP, 'KEDA reads the brokers infer uses');
    assert.ok(so.spec.maxReplicaCount <= frames.partitions, `max ${so.spec.maxReplicaCount} infer replicas ≤ ${frames.partitions} partitions`);
    assert.ok(so.spec.minReplicaCount >= 1, 'infer never scales to zero (its frame rings would be lost)');
  });

  test(`${overlay}: the NIM runs on a GPU node with health probes, its key, a weights cache and KV cache reuse`, () => {
    const nim = get(objs, 'Deployment', 'nim');
    const [c] = containers(nim);
    assert.match(c.image, /^nvcr\.io\/nim\/nvidia\/cosmos-reason1-7b:/);
    assert.equal(String(c.resources.limits['nvidia.com/gpu']), '1');
    assert.ok(podSpecOf(nim)!.tolerations.some((t: any) => t.key === 'nvidia.com/gpu'));
    assert.equal(c.readinessProbe.httpGet.path, '/v1/health/ready');
    assert.equal(c.livenessProbe.httpGet.path, '/v1/health/live');
    assert.ok(c.env.some((e: any) => e.name === 'NGC_API_KEY' && e.valueFrom?.secretKeyRef));
    assert.ok(c.env.some((e: any) => e.name === 'NIM_ENABLE_KV_CACHE_REUSE' && e.value === '1'), 'prefix caching on');
    assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/opt/nim/.cache'));
    assert.ok(declaresPort(c, 8000));
  });

  test(`${overlay}: ServiceMonitors scrape every Vigil Service on a port it has`, () => {
    const services = objs.filter((o) => o.kind === 'Service') as Obj[];
    const scraped = new Set<string>();
    for (const sm of objs.filter((o) => o.kind === 'ServiceMonitor') as Obj[]) {
      const selected = services.filter((s) => matchesSelector(sm.spec.selector, s.metadata.labels));
      assert.ok(selected.length > 0, `ServiceMonitor ${sm.metadata.name} selects a Service`);
      for (const ep of sm.spec.endpoints) {
        const having = selected.filter((s) => s.spec.ports.some((p: any) => p.name === ep.port));
        assert.ok(having.length > 0, `ServiceMonitor ${sm.metadata.name}: port ${ep.port} exists on a selected Service`);
        for (const s of having) scraped.add(s.metadata.name);
      }
    }
    for (const name of [...VIGIL_COMPONENTS, 'nim']) assert.ok(scraped.has(name), `${name} is scraped`);
  });

  test(`${overlay}: with API tokens configured, Prometheus scrapes Vigil with a token the Secret holds`, () => {
    const cm = objs.find((o) => o.kind === 'ConfigMap' && (o.metadata.name as string).startsWith('vigil-config')) as Obj | undefined;
    const text = String(Object.values(cm?.data ?? {})[0] ?? '');
    if (!/^\s+tokens:/m.test(text)) return; // an open API (dev) needs no scrape credentials
    const sm = objs.find((o) => o.kind === 'ServiceMonitor' && o.metadata.name === 'vigil') as Obj;
    const keys = Object.keys(readEnvFile(join(ROOT, 'k8s/overlays/prod/secrets.example.env')));
    for (const ep of sm.spec.endpoints) {
      assert.equal(ep.authorization?.type, 'Bearer', `endpoint ${ep.port} sends a bearer token`);
      assert.equal(ep.authorization.credentials.name, 'vigil-secrets');
      assert.ok(keys.includes(ep.authorization.credentials.key), `${ep.authorization.credentials.key} is a key of vigil-secrets`);
    }
  });

  test(`${overlay}: the Vigil config in the ConfigMap passes \`vigil validate\` with each pod's environment, and its ports are the pods'`, () => {
    const dir = mkdtempSync(join(tmpdir(), `vigil-k8s-${overlay}-`));
    for (const name of VIGIL_COMPONENTS) {
      const w = get(objs, name === 'ingest' ? 'StatefulSet' : 'Deployment', name);
      const [c] = containers(w);
      const vol = podSpecOf(w)!.volumes.find((v: any) => v.configMap?.name?.startsWith('vigil-config'));
      const text = dataOf(objs, 'ConfigMap', vol.configMap.name)?.['vigil.yaml'];
      assert.ok(text, `${name}: vigil.yaml in ${vol.configMap.name}`);
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, text);
      const env = containerEnv(objs, overlay, c);
      if (env.VIGIL_SHARD_INDEX === undefined && name === 'ingest') env.VIGIL_SHARD_INDEX = '0'; // from the downward API
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/vigil.js'), 'validate', file], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
      assert.equal(r.status, 0, `${overlay}/${name}: vigil validate\n${r.stderr}`);
      const config = parseConfig(text, file, env);
      assert.ok(config.kafka && config.postgres && config.redis && config.nats, `${name}: Kafka, PostgreSQL, Redis and NATS all named (no embedded stand-ins)`);
      const port = name === 'alerts' ? config.http.port : name === 'ingest' ? config.ingest.metricsPort : config.infer.metricsPort;
      assert.ok(declaresPort(c, port), `${name}: the container declares the config's port ${port}`);
      if (name === 'alerts') {
        const mount = c.volumeMounts.find((m: any) => m.mountPath === config.alerts.evidence.dir);
        const vol = podSpecOf(w)!.volumes.find((v: any) => v.name === mount?.name);
        assert.ok(vol?.persistentVolumeClaim, `alerts: evidence dir ${config.alerts.evidence.dir} is a persistent volume`);
        const pvc = get(objs, 'PersistentVolumeClaim', vol.persistentVolumeClaim.claimName);
        if (overlay === 'prod') assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany'], 'shared by every alerts replica');
      }
    }
  });
}

test('prod: infer runs the CUDA image on GPU nodes (components/infer-gpu)', () => {
  const infer = get(objectsOf('prod'), 'Deployment', 'infer');
  const [c] = containers(infer);
  assert.match(c.image, /cuda/);
  assert.equal(String(c.resources.limits['nvidia.com/gpu']), '1');
  assert.equal(podSpecOf(infer)!.nodeSelector['nvidia.com/gpu.present'], 'true');
  assert.ok(podSpecOf(infer)!.tolerations.some((t: any) => t.key === 'nvidia.com/gpu'));
  const dev = containers(get(objectsOf('dev'), 'Deployment', 'infer'))[0];
  assert.equal(dev.resources.limits['nvidia.com/gpu'], undefined, 'dev infer stays on CPU');
});

test('the typed check does catch a misspelt field', () => {
  const bad = structuredClone(get(objectsOf('dev'), 'Deployment', 'alerts'));
  (containers(bad)[0] as Record<string, unknown>).imagePullPolicyy = 'Always';
  assert.match(typecheckObjects([bad], 'negative'), /imagePullPolicyy/);
});

test('the dev RTSP server config is the one compose mounts', () => {
  assert.equal(readFileSync(join(ROOT, 'k8s/overlays/dev/mediamtx.yml'), 'utf8'), readFileSync(join(ROOT, 'deploy/mediamtx.yml'), 'utf8'));
});
