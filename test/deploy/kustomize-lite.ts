/**
 * A small kustomize for the tests, for machines without `kubectl` (>= 1.21, kustomize v4+).
 * It implements exactly the subset that k8s/ uses and throws on any other field, so a new
 * feature in the overlays fails loudly here instead of rendering wrong. Where kubectl is
 * present, k8s.test.ts checks that both render the same objects (generated names included).
 *
 * Supported: resources (files, folders), components, namespace, labels (metadata only),
 * configMapGenerator / secretGenerator (files, literals, envs, type; name hash suffix as
 * kustomize computes it), images, replicas, patches (JSON 6902, inline, target by
 * group/version/kind/name).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as plain JSON. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown };

type Json = unknown;
interface Generated {
  kind: 'ConfigMap' | 'Secret';
  base: string;
  name: string;
}

const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'components', 'namespace', 'labels', 'configMapGenerator', 'secretGenerator', 'images', 'replicas', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'IngressClass']);

/** Renders the kustomization in `dir`; returns the objects with generated names resolved. */
export function kustomizeLite(dir: string): K8sObject[] {
  const generated: Generated[] = [];
  const objects = build(resolve(dir), generated, 'Kustomization');
  fixNameReferences(objects, generated);
  return objects;
}

function readKustomization(dir: string, kind: 'Kustomization' | 'Component'): Record<string, any> {
  const file = join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const k = loadDocs(file)[0] as Record<string, any>;
  if (k.kind !== kind) throw new Error(`${file}: expected kind ${kind}, got ${k.kind}`);
  for (const key of Object.keys(k)) if (!KNOWN.has(key)) throw new Error(`${file}: kustomize-lite does not implement "${key}"`);
  return k;
}

function build(dir: string, generated: Generated[], kind: 'Kustomization' | 'Component', input: K8sObject[] = []): K8sObject[] {
  const k = readKustomization(dir, kind);
  let objects: K8sObject[] = [...input];
  for (const r of (k.resources ?? []) as string[]) {
    const path = join(dir, r);
    objects.push(...(statSync(path).isDirectory() ? build(path, generated, 'Kustomization') : (loadDocs(path) as K8sObject[])));
  }
  for (const c of (k.components ?? []) as string[]) objects = build(join(dir, c), generated, 'Component', objects);
  for (const g of (k.configMapGenerator ?? []) as Record<string, any>[]) objects.push(generate(dir, 'ConfigMap', g, generated));
  for (const g of (k.secretGenerator ?? []) as Record<string, any>[]) objects.push(generate(dir, 'Secret', g, generated));
  // kustomize's transformer order: patches, namespace, labels, replicas, images.
  for (const p of (k.patches ?? []) as Record<string, any>[]) applyPatch(objects, p);
  if (k.namespace) for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace as string;
  for (const l of (k.labels ?? []) as Record<string, any>[]) {
    if (l.includeSelectors || l.includeTemplates) throw new Error('kustomize-lite: labels apply to metadata only');
    for (const o of objects) o.metadata.labels = { ...(o.metadata.labels ?? {}), ...(l.pairs as Record<string, string>) };
  }
  for (const r of (k.replicas ?? []) as { name: string; count: number }[]) {
    const hits = objects.filter((o) => o.metadata.name === r.name && ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(o.kind));
    if (hits.length === 0) throw new Error(`replicas: nothing named ${r.name}`);
    for (const o of hits) (o.spec as Record<string, unknown>).replicas = r.count;
  }
  for (const img of (k.images ?? []) as { name: string; newName?: string; newTag?: string }[]) {
    for (const o of objects) {
      for (const c of containersOf(o)) {
        const { name, tag } = splitImage(c.image as string);
        if (name !== img.name) continue;
        c.image = `${img.newName ?? name}${img.newTag !== undefined ? `:${img.newTag}` : tag ? `:${tag}` : ''}`;
      }
    }
  }
  return objects;
}

function loadDocs(file: string): Json[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return d.toJS() as Json;
    })
    .filter((d) => d !== null && d !== undefined);
}

function generate(dir: string, kind: 'ConfigMap' | 'Secret', g: Record<string, any>, generated: Generated[]): K8sObject {
  if (g.behavior && g.behavior !== 'create') throw new Error(`kustomize-lite: generator behavior "${g.behavior}"`);
  const data: Record<string, string> = {};
  for (const lit of (g.literals ?? []) as string[]) {
    const i = lit.indexOf('=');
    data[lit.slice(0, i)] = lit.slice(i + 1);
  }
  for (const env of (g.envs ?? []) as string[]) {
    for (const line of readFileSync(join(dir, env), 'utf8').split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      const i = t.indexOf('=');
      data[t.slice(0, i).trim()] = t.slice(i + 1);
    }
  }
  for (const f of (g.files ?? []) as string[]) {
    const [key, path] = f.includes('=') ? [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] : [basename(f), f];
    data[key] = readFileSync(join(dir, path), 'utf8');
  }
  const name = g.name as string;
  let obj: K8sObject;
  if (kind === 'ConfigMap') {
    obj = { apiVersion: 'v1', kind, metadata: { name }, data };
  } else {
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, base64Lines(v)]));
    obj = { apiVersion: 'v1', kind, metadata: { name }, type: (g.type as string) ?? 'Opaque', data: encoded };
  }
  const hashed = `${name}-${nameHash(obj)}`;
  generated.push({ kind, base: name, name: hashed });
  obj.metadata.name = hashed;
  return obj;
}

/** Base64 as kustomize writes Secret data: 70-character lines, each ended by a newline once there are two or more. */
function base64Lines(text: string): string {
  const b64 = Buffer.from(text).toString('base64');
  const lines = Math.floor(b64.length / 70) + 1;
  if (lines === 1) return b64;
  let out = '';
  for (let i = 0; i < b64.length; i += 70) out += `${b64.slice(i, i + 70)}\n`;
  return out;
}

/** kustomize's content hash for generated ConfigMaps and Secrets (api/hasher). */
export function nameHash(obj: K8sObject): string {
  // kustomize v5 hashes with an empty name (the name is not part of the content).
  const fields: Record<string, unknown> = { kind: obj.kind, name: '', data: obj.data ?? {} };
  if (obj.kind === 'Secret') fields.type = obj.type;
  const json = goJson(fields);
  const hex = createHash('sha256').update(json).digest('hex');
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => swap[c] ?? c).join('');
}

/** JSON as Go's encoding/json writes it: map keys sorted, HTML characters escaped. */
function goJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])]))
      : Array.isArray(x)
        ? x.map(sort)
        : x;
  return JSON.stringify(sort(v))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function applyPatch(objects: K8sObject[], p: Record<string, any>): void {
  const t = (p.target ?? {}) as Record<string, string>;
  const matches = objects.filter((o) => {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    return (!t.kind || t.kind === o.kind) && (!t.name || t.name === o.metadata.name) && (t.group === undefined || t.group === group) && (t.version === undefined || t.version === version);
  });
  if (matches.length === 0) throw new Error(`patch target ${JSON.stringify(t)} matches nothing`);
  if (typeof p.patch !== 'string') throw new Error('kustomize-lite: only inline patches');
  const ops = loadOps(p.patch as string);
  for (const o of matches) for (const op of ops) applyOp(o, op);
}

function loadOps(text: string): { op: string; path: string; value?: unknown }[] {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
  if (docs.length !== 1 || !Array.isArray(docs[0])) throw new Error('kustomize-lite: only JSON 6902 patches (a list of operations)');
  return docs[0] as { op: string; path: string; value?: unknown }[];
}

function applyOp(root: unknown, op: { op: string; path: string; value?: unknown }): void {
  const parts = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop()!;
  let node = root as Record<string, unknown> | unknown[];
  for (const p of parts) {
    const next = Array.isArray(node) ? node[Number(p)] : node[p];
    if (next === undefined || next === null || typeof next !== 'object') throw new Error(`patch ${op.op} ${op.path}: no ${p}`);
    node = next as Record<string, unknown> | unknown[];
  }
  const value = structuredClone(op.value);
  if (Array.isArray(node)) {
    const i = last === '-' ? node.length : Number(last);
    if (op.op === 'add') node.splice(i, 0, value);
    else if (op.op === 'replace') {
      if (i >= node.length) throw new Error(`patch replace ${op.path}: no element ${i}`);
      node[i] = value;
    } else if (op.op === 'remove') node.splice(i, 1);
    else throw new Error(`kustomize-lite: patch op "${op.op}"`);
    return;
  }
  if (op.op === 'add') node[last] = value;
  else if (op.op === 'replace') {
    if (!(last in node)) throw new Error(`patch replace ${op.path}: no ${last}`);
    node[last] = value;
  } else if (op.op === 'remove') delete node[last];
  else throw new Error(`kustomize-lite: patch op "${op.op}"`);
}

/** The pod spec of a workload (Deployment, StatefulSet, Job, …), if it has one. */
export function podSpecOf(o: K8sObject): Record<string, any> | undefined {
  const spec = o.spec as Record<string, any> | undefined;
  if (o.kind === 'Pod') return spec;
  if (o.kind === 'CronJob') return spec?.jobTemplate?.spec?.template?.spec;
  return spec?.template?.spec;
}

function containersOf(o: K8sObject): Record<string, unknown>[] {
  const pod = podSpecOf(o);
  return pod ? [...((pod.containers ?? []) as Record<string, unknown>[]), ...((pod.initContainers ?? []) as Record<string, unknown>[])] : [];
}

function splitImage(image: string): { name: string; tag?: string } {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? { name: noDigest.slice(0, colon), tag: noDigest.slice(colon + 1) } : { name: noDigest };
}

function fixNameReferences(objects: K8sObject[], generated: Generated[]): void {
  const rename = (kind: 'ConfigMap' | 'Secret', name: string | undefined) => generated.find((g) => g.kind === kind && g.base === name)?.name ?? name;
  for (const o of objects) {
    const pod = podSpecOf(o);
    if (pod) {
      for (const v of (pod.volumes ?? []) as Record<string, any>[]) {
        if (v.configMap) v.configMap.name = rename('ConfigMap', v.configMap.name);
        if (v.secret) v.secret.secretName = rename('Secret', v.secret.secretName);
      }
      for (const s of (pod.imagePullSecrets ?? []) as Record<string, any>[]) s.name = rename('Secret', s.name);
      for (const c of containersOf(o) as Record<string, any>[]) {
        for (const e of (c.envFrom ?? []) as Record<string, any>[]) {
          if (e.configMapRef) e.configMapRef.name = rename('ConfigMap', e.configMapRef.name);
          if (e.secretRef) e.secretRef.name = rename('Secret', e.secretRef.name);
        }
        for (const e of (c.env ?? []) as Record<string, any>[]) {
          const from = e.valueFrom as Record<string, any> | undefined;
          if (from?.configMapKeyRef) from.configMapKeyRef.name = rename('ConfigMap', from.configMapKeyRef.name);
          if (from?.secretKeyRef) from.secretKeyRef.name = rename('Secret', from.secretKeyRef.name);
        }
      }
    }
    if (o.kind === 'Ingress') for (const t of ((o.spec as Record<string, any>).tls ?? []) as Record<string, any>[]) t.secretName = rename('Secret', t.secretName);
  }
}
