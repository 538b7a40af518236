import type { Finding } from '@vigil/contracts';
import type { Endpoint } from '@vigil/model';
import type { Logger } from '@vigil/observability';
import { WindowAsker, buildTriggerFinding, type AskJob } from './asker.ts';
import type { WindowBander } from './band.ts';
import type { TokenBudget } from './budget.ts';
import type { WindowLedger } from './ledger.ts';
import type { InferMetrics } from './metrics.ts';
import { keyOf } from './planner.ts';
import type { FindingPublisher } from './publisher.ts';
import { needsAnalytics, type TriggerMemory } from './triggers.ts';

/** A window the dispatcher hands out; `reply` is set for ask-now (the requester gets the finding, not the bus). */
export interface Work {
  job: AskJob;
  reply?: (f: Finding) => void;
}

/**
 * What happens to a window once it is due: asked of the model (or, without a model server,
 * the fired trigger published as the finding), the finding published, and the window
 * settled in the ledger only once its finding is on the bus — so the frames commit never
 * moves past a window whose answer could still be lost. Work under way is tracked, so a
 * stop can wait for it.
 */
export class Answering {
  private readonly background = new Set<Promise<void>>();

  constructor(
    private readonly d: {
      asker?: WindowAsker;
      bander?: WindowBander;
      publisher: FindingPublisher;
      ledger: WindowLedger;
      budget: TokenBudget;
      /** The planner's trigger memory per (camera, query). */
      memory: Map<string, TriggerMemory>;
      metrics: InferMetrics;
      log: Logger;
    },
  ) {}

  /** Runs one dispatched window on the endpoint the dispatcher reserved for it. */
  async ask(w: Work, endpoint: Endpoint): Promise<void> {
    const { job } = w;
    if (!w.reply) this.markAsked(job);
    let finding: Finding;
    try {
      finding = await this.d.asker!.ask(job, endpoint.url);
    } catch (e) {
      // The model client turns model failures into findings; reaching here is a bug: say so once.
      this.d.log.error({ camera: job.cameraId, query: job.query.id, err: String(e) }, 'cannot ask the model');
      this.settle(job);
      return;
    }
    this.d.budget.record(job.cameraId, job.site, finding.usage.promptTokens + finding.usage.completionTokens);
    if (w.reply) return w.reply(finding);
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
      this.settle(job);
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
    this.settle(w.job);
  }

  /** Waits for every publish under way, then for the publisher's batches. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.background]);
    await this.d.publisher.drain();
  }

  private publishThenSettle(job: AskJob, finding: Promise<Finding>, what: string): void {
    const p = finding
      .then((f) => this.d.publisher.publish(f))
      .then(
        () => this.settle(job),
        (e: unknown) => {
          this.d.metrics.publishFailures.inc();
          this.d.log.error({ camera: job.cameraId, query: job.query.id, err: String(e) }, `cannot publish ${what}; its chunk stays uncommitted`);
        },
      );
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
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
