/**
 * Renders the k8s/ overlays for the deployment tests and validates objects against the
 * Kubernetes schemas of `kubernetes-models` (plus KEDA and Prometheus Operator CRDs).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import * as core from 'kubernetes-models/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as keda from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { kustomizeLite, type K8sObject } from './kustomize-lite.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const OVERLAYS = ['dev', 'prod'] as const;

/** kubectl's kustomize version when it is v4 or later (kubectl >= 1.21), else undefined. */
export function kubectlKustomizeVersion(): string | undefined {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const m = r.status === 0 ? /Kustomize Version:\s*v(\d+)\.(\d+)\.(\d+)/.exec(r.stdout) : null;
  return m && Number(m[1]) >= 4 ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

/** Renders with `kubectl kustomize`. */
export function renderWithKubectl(overlay: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(ROOT, 'k8s/overlays', overlay)], { encoding: 'utf8' });
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

/**
 * Renders an overlay: kubectl's kustomize when available, the test's own otherwise
 * (VIGIL_DEPLOY_RENDERER=lite forces the latter, to try what a machine without kubectl runs).
 */
export function render(overlay: string): { objects: K8sObject[]; renderer: string } {
  const v = process.env.VIGIL_DEPLOY_RENDERER === 'lite' ? undefined : kubectlKustomizeVersion();
  if (v) return { objects: renderWithKubectl(overlay), renderer: `kubectl kustomize (kustomize v${v})` };
  return { objects: kustomizeLite(join(ROOT, 'k8s/overlays', overlay)), renderer: 'kustomize-lite' };
}

type ModelClass = new (data: never) => { validate(): void };
const MODELS: Record<string, { module: Record<string, unknown>; typeModule: string }> = {
  v1: { module: core, typeModule: 'kubernetes-models/v1' },
  'apps/v1': { module: apps, typeModule: 'kubernetes-models/apps/v1' },
  'batch/v1': { module: batch, typeModule: 'kubernetes-models/batch/v1' },
  'policy/v1': { module: policy, typeModule: 'kubernetes-models/policy/v1' },
  'autoscaling/v2': { module: autoscaling, typeModule: 'kubernetes-models/autoscaling/v2' },
  'networking.k8s.io/v1': { module: networking, typeModule: 'kubernetes-models/networking.k8s.io/v1' },
  'keda.sh/v1alpha1': { module: keda, typeModule: '@kubernetes-models/keda/keda.sh/v1alpha1' },
  'monitoring.coreos.com/v1': { module: monitoring, typeModule: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1' },
};

/** Validates one object against its schema; throws naming the object and the first errors. */
export function validateSchema(o: K8sObject): void {
  const m = MODELS[o.apiVersion];
  const Model = m?.module[o.kind] as ModelClass | undefined;
  if (!Model) throw new Error(`${o.apiVersion} ${o.kind} ${o.metadata?.name}: no schema known for this kind`);
  const copy = structuredClone(o);
  // kustomize wraps long Secret values at 70 columns; the API server's base64 decoder skips
  // the newlines, the schema's "byte" format does not.
  if (copy.kind === 'Secret' && copy.data) {
    copy.data = Object.fromEntries(Object.entries(copy.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\n/g, '')]));
  }
  try {
    new Model(copy as never).validate();
  } catch (e) {
    throw new Error(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`);
  }
}

/**
 * The schemas above do not reject unknown fields (a misspelt `imagePullPolicyy` passes).
 * TypeScript's excess-property check does: write every object as a typed literal and run
 * tsc on it. Returns tsc's output ('' when clean).
 */
export function typecheckObjects(objects: K8sObject[], name: string): string {
  const dir = join(ROOT, '.cache/deploy-typecheck');
  mkdirSync(dir, { recursive: true });
  const imports = new Map<string, string>();
  const lines: string[] = [];
  objects.forEach((o, i) => {
    const m = MODELS[o.apiVersion];
    if (!m) throw new Error(`${o.apiVersion} ${o.kind}: no types known`);
    const alias = `M${[...imports.keys()].indexOf(m.typeModule) >= 0 ? [...imports.keys()].indexOf(m.typeModule) : imports.size}`;
    if (!imports.has(m.typeModule)) imports.set(m.typeModule, alias);
    lines.push(`// ${o.kind}/${o.metadata.name}\nexport const o${i}: ${imports.get(m.typeModule)}.I${o.kind} = ${JSON.stringify(o, null, 1)};`);
  });
  const header = [...imports].map(([mod, alias]) => `import type * as ${alias} from '${mod}';`).join('\n');
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `${header}\n${lines.join('\n')}\n`);
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'ES2022', '--module', 'ESNext', '--moduleResolution', 'Bundler', '--types', 'node', file],
    { encoding: 'utf8', cwd: ROOT },
  );
  return r.status === 0 ? '' : `${r.stdout}${r.stderr}`;
}
