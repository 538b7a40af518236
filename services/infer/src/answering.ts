import type { Finding } from '@vigil/contracts';
import type { Endpoint } from '@vigil/model';
import type { Logger } from '@vigil/observability';
import { WindowAsker, buildTriggerFinding, type AskJob } from './asker.ts';
import type { ModelFrame, WindowBander } from './band.ts';
import type { TokenBudget } from './budget.ts';
import type { WindowLedger } from './ledger.ts';
import type { InferMetrics } from './metrics.ts';
import { keyOf } from './planner.ts';
import type { FindingSink } from './publisher.ts';
import { needsAnalytics, type TriggerMemory } from './triggers.ts';

/** A window the dispatcher hands out; `reply` is set for ask-now (the requester gets the finding, not the bus). */
export interface Work {
  job: AskJob;
  reply?: (f: Finding) => void;
  /** Earlier attempts that ended in an error finding (see `Answering.ask`). */
  attempt?: number;
  /** Asked with the rest of its window group in one request (model.share: fused). */
  fused?: boolean;
}

/**
 * An event window whose request failed (an overloaded model server timing out, 5xx after the
 * client's own retries) is asked again, up to this many times, while it is this recent: the
 * event may be in no other window. Windows of always/schedule queries are not: the next one
 * is due in seconds anyway.
 */
export const ERROR_RETRIES = 2;
export const ERROR_RETRY_MAX_AGE_MS = 45_000;

/**
 * What happens to a window once it is due: asked of the model (or, without a model server,
 * the fired trigger published as the finding), the finding published, and the window
 * settled in the ledger only once its finding is on the bus — so the frames commit never
 * moves past a window whose answer could still be lost. Work under way is tracked, so a
 * stop can wait for it.
 */
export class Answering {
  private readonly background = new Set<Promise<void>>();
  private readonly wake = new Set<() => void>();
  private retrying = 0;
  private waitingRetry = 0;
  private stopping = false;

  constructor(
    private readonly d: {
      asker?: WindowAsker;
      bander?: WindowBander;
      publisher: FindingSink;
      ledger: WindowLedger;
      budget: TokenBudget;
      /** The planner's trigger memory per (camera, query). */
      memory: Map<string, TriggerMemory>;
      /** Hands a window back to the dispatcher (an errored event window asked again). */
      resubmit: (w: Work) => void;
      metrics: InferMetrics;
      log: Logger;
      /** The clock windows are aged by (default the wall clock; a replay drives it with capture time). */
      now?: () => number;
    },
  ) {}

  /** Windows still owed a finding here: being published, or waiting to be asked again. */
  get pending(): number {
    return this.background.size + this.waitingRetry;
  }

  /**
   * Runs what the dispatcher handed over on the endpoint it reserved: one window's question,
   * or a group of questions about the same frames. A group's frames are prepared once and its
   * requests leave back to back, leader first, on `slots` slots of that one endpoint, so the
   * server prefills the video once and answers the others from its prefix cache. If the
   * endpoint fails, the model client's failover order is the same for every member, so the
   * group moves together.
   */
  async run(works: Work[], endpoint: Endpoint, slots: number): Promise<void> {
    if (works.length === 1) return this.ask(works[0]!, endpoint);
    this.d.metrics.windowGroups.inc();
    this.d.metrics.groupQuestions.inc(works.length);
    let prepared: ModelFrame[] | undefined;
    try {
      prepared = await this.d.asker!.prepare(works[0]!.job);
    } catch {
      prepared = undefined; // each member prepares its own (and reports what fails)
    }
    let rest = works;
    if (works[0]!.fused) rest = await this.askFused(works, endpoint, prepared);
    let next = 0;
    const lane = async () => {
      while (next < rest.length) await this.ask(rest[next++]!, endpoint, prepared);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(slots, rest.length)) }, lane));
  }

  /** One request for the whole group; returns the members it could not answer (asked on their own). */
  private async askFused(works: Work[], endpoint: Endpoint, prepared?: ModelFrame[]): Promise<Work[]> {
    for (const w of works) this.markAsked(w.job);
    let findings: (Finding | undefined)[];
    try {
      findings = await this.d.asker!.askFused(works.map((w) => w.job), endpoint.url, prepared);
    } catch (e) {
      this.d.log.error({ camera: works[0]!.job.cameraId, err: String(e) }, 'cannot ask the model (fused)');
      return works;
    }
    const left: Work[] = [];
    works.forEach((w, i) => (findings[i] ? this.answered(w, findings[i]!) : left.push(w)));
    return left;
  }

  /** Runs one dispatched window on the endpoint the dispatcher reserved for it. */
  async ask(w: Work, endpoint: Endpoint, prepared?: ModelFrame[]): Promise<void> {
    const { job } = w;
    if (!w.reply) this.markAsked(job);
    let finding: Finding;
    try {
      finding = await this.d.asker!.ask(job, endpoint.url, prepared);
    } catch (e) {
      // The model client turns model failures into findings; reaching here is a bug: say so once.
      this.d.log.error({ camera: job.cameraId, query: job.query.id, err: String(e) }, 'cannot ask the model');
      this.settle(job);
      return;
    }
    this.answered(w, finding);
  }

  /** A window's finding is in: its budget, then a retry, the requester, or the bus. */
  private answered(w: Work, finding: Finding): void {
    const { job } = w;
    this.d.budget.record(job.cameraId, job.site, finding.usage.promptTokens + finding.usage.completionTokens);
    if (w.reply) return w.reply(finding);
    const attempt = w.attempt ?? 0;
    if (finding.status === 'error' && needsAnalytics(job.query.trigger) && attempt < ERROR_RETRIES && (this.d.now ?? Date.now)() - job.end < ERROR_RETRY_MAX_AGE_MS && !this.stopping) {
      // Not settled: the window is still owed an answer. Asked again after a pause, under its own key.
      this.d.metrics.windowsRetried.inc({ query: job.query.id });
      this.waitingRetry++;
      void this.pause(2000 * 2 ** attempt).then(() => {
        this.waitingRetry--;
        if (!this.stopping) this.d.resubmit({ job, attempt: attempt + 1 });
      });
      return;
    }
    // The slot is free as soon as the model has answered; publishing happens beside it.
    this.publishThenSettle(job, Promise.resolve(finding), 'finding');
  }

  /**
   * Without a model server an event trigger (motion, stall, tamper…) is the incident itself;
   * `always`/`schedule` windows say nothing happened, so they just wait for a model.
   */
  withoutModel(job: AskJob): void {
    if (!needsAnalytics(job.query.trigger)) {
      this.d.metrics.windowsSkipped.inc({ query: job.query.id, reason: 'no_model' });
      this.d.ledger.skipped(keyOf(job.cameraId, job.query.id), job, job.query.everyMs, 'no_model');
      return;
    }
    this.markAsked(job);
    this.d.metrics.triggerFindings.inc({ query: job.query.id });
    const frames = this.d.bander ? this.d.bander.band(job.cameraId, job.frames, job.fps) : Promise.resolve(job.frames);
    this.publishThenSettle(job, frames.then((f) => buildTriggerFinding({ ...job, frames: f })), 'trigger finding');
  }

  /** A window a newer one replaced before it was asked: nothing will be published for it. */
  superseded(w: Work, stopping: boolean): void {
    if (w.reply || stopping) return;
    this.d.metrics.superseded.inc();
    this.d.ledger.skipped(keyOf(w.job.cameraId, w.job.query.id), w.job, w.job.query.everyMs, 'superseded');
  }

  /** Findings being retried because the bus did not take them (holds on their chunks do not expire meanwhile). */
  get publishRetrying(): boolean {
    return this.retrying > 0;
  }

  /** Waits for every publish under way (ending retries), then for the publisher's batches. */
  async drain(): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.wake]) wake();
    await Promise.allSettled([...this.background]);
    await this.d.publisher.drain();
  }

  /**
   * Publishes until it is on the bus (the bus away for minutes is an outage to ride out, not a
   * reason to lose a finding), then settles the window. While any finding is retrying, no chunk
   * is committed past by the hold timeout (`retrying`); on stop, retrying ends and the window
   * stays unsettled, so its chunk is replayed after the restart and the finding comes again.
   */
  private publishThenSettle(job: AskJob, finding: Promise<Finding>, what: string): void {
    const p = finding
      .then(async (f) => {
        for (let attempt = 0; ; attempt++) {
          try {
            await this.d.publisher.publish(f);
            return true;
          } catch (e) {
            this.d.metrics.publishFailures.inc();
            if (attempt === 0) this.d.log.warn({ camera: job.cameraId, query: job.query.id, err: String(e) }, `cannot publish ${what} yet; retrying until the bus takes it`);
            if (this.stopping) return false;
            this.retrying++;
            try {
              await this.pause(Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5)));
            } finally {
              this.retrying--;
            }
          }
        }
      })
      .then(
        (published) => {
          if (published) this.settle(job);
          else this.d.log.warn({ camera: job.cameraId, query: job.query.id }, `${what} not published before the stop; its chunk stays uncommitted and is replayed`);
        },
        (e: unknown) => this.d.log.error({ camera: job.cameraId, query: job.query.id, err: String(e) }, `cannot build ${what}; its chunk stays uncommitted`),
      );
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }

  /** Waits `ms`, or less when stopping. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  /** Tells the trigger memory the window was asked (stall and scene-change triggers fire once per event). */
  private markAsked(job: AskJob): void {
    const memory = this.d.memory.get(keyOf(job.cameraId, job.query.id));
    if (memory) memory.askedThrough = Math.max(memory.askedThrough ?? -Infinity, job.end);
  }

  private settle(job: AskJob): void {
    this.d.ledger.settled(keyOf(job.cameraId, job.query.id), job.end);
  }
}
