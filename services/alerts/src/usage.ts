import type { Finding } from '@vigil/contracts';
import type { IncidentStore, ModelUsageDelta } from '@vigil/store';
import type { Logger } from '@vigil/observability';
import { BatchedWriter } from './batched.ts';

const HOUR_MS = 3_600_000;

/**
 * Sums the model usage of every finding (positive or not) per hour, camera and query, and
 * adds it to the store every few seconds in one statement: charts of latency and tokens
 * without a write per finding. A crash loses at most one interval of usage; replayed findings
 * after a crash may be counted twice. Both only blur a chart, never an incident.
 */
export class UsageRecorder {
  private readonly batch: BatchedWriter<ModelUsageDelta>;

  constructor(store: IncidentStore, log: Logger) {
    this.batch = new BatchedWriter({ write: (rows) => store.addModelUsage(rows), merge: addUsage, log, what: 'model usage' });
  }

  /** Counts one finding; trigger findings asked no model and are left out. */
  add(f: Finding): void {
    if (f.status === 'trigger') return;
    const hour = Math.floor((f.createdAt || Date.now()) / HOUR_MS) * HOUR_MS;
    this.batch.update(`${hour}\u0000${f.cameraId}\u0000${f.queryId}`, (d) =>
      addUsage(d ?? { hour: new Date(hour), camera: f.cameraId, query: f.queryId, findings: 0, errors: 0, latencyMsSum: 0, promptTokens: 0, completionTokens: 0 }, {
        hour: new Date(hour),
        camera: f.cameraId,
        query: f.queryId,
        findings: 1,
        errors: f.status === 'error' ? 1 : 0,
        latencyMsSum: Math.max(0, Math.round(f.latencyMs ?? 0)),
        promptTokens: Math.max(0, f.usage?.promptTokens ?? 0),
        completionTokens: Math.max(0, f.usage?.completionTokens ?? 0),
      }),
    );
  }

  start(intervalMs = 5000): void {
    this.batch.start(intervalMs);
  }

  /** Writes what is pending; on failure keeps it for the next try (merged with newer counts). */
  flush(): Promise<void> {
    return this.batch.flush();
  }

  close(): Promise<void> {
    return this.batch.close();
  }
}

/** Two deltas of the same hour, camera and query, summed into the first. */
function addUsage(into: ModelUsageDelta, d: ModelUsageDelta): ModelUsageDelta {
  for (const k of ['findings', 'errors', 'latencyMsSum', 'promptTokens', 'completionTokens'] as const) into[k] += d[k];
  return into;
}
