import type { WindowProgress } from '@vigil/contracts';
import type { IncidentStore } from '@vigil/store';
import type { Logger } from '@vigil/observability';
import { BatchedWriter } from './batched.ts';

interface ProgressRow {
  camera: string;
  query: string;
  through: number;
}

/**
 * Window progress from infer (see @vigil/contracts progress.ts), kept per (camera, query) as
 * the latest capture time and written in one statement every interval: episodes then close on
 * capture time (IncidentStore.closeQuiet). A crash loses at most one interval, which only
 * delays a close until the next message; a write that fails is kept and retried.
 */
export class ProgressRecorder {
  private readonly batch: BatchedWriter<ProgressRow>;

  constructor(store: IncidentStore, log: Logger) {
    // The latest capture time wins, whichever write it came with.
    this.batch = new BatchedWriter({ write: (rows) => store.recordProgress(rows), merge: (a, b) => (a.through >= b.through ? a : b), log, what: 'window progress' });
  }

  add(p: WindowProgress): void {
    this.batch.update(`${p.cameraId}\u0000${p.queryId}`, (cur) => (cur && cur.through >= p.through ? cur : { camera: p.cameraId, query: p.queryId, through: p.through }));
  }

  start(intervalMs = 500): void {
    this.batch.start(intervalMs);
  }

  flush(): Promise<void> {
    return this.batch.flush();
  }

  close(): Promise<void> {
    return this.batch.close();
  }
}
