import { Registry, collectDefaultMetrics } from 'prom-client';
import { registerProcessFaults } from './process-policy.ts';

/** A registry per service, so one process running several services serves each its own /metrics. */
export function createRegistry(service: string, opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: 'vigil_' });
    registerProcessFaults(registry);
  }
  return registry;
}
