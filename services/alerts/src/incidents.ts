import { randomUUID } from 'node:crypto';
import type { VigilConfig } from '@vigil/config';
import { MESSAGE_TYPE_HEADER, parseCameraStatus, parseFinding, parseWindowProgress, PROGRESS_TYPE, type Finding, type Incident, type StoredCameraStatus } from '@vigil/contracts';
import type { InMessage } from '@vigil/bus';
import type { SharedState } from '@vigil/state';
import { keepsWindows, type FindingOutcome, type IncidentStore } from '@vigil/store';
import type { Logger } from '@vigil/observability';
import type { EvidenceFiles } from './evidence.ts';
import type { LiveEvents } from './live.ts';
import type { AlertsMetrics } from './metrics.ts';
import type { AlertPolicy } from './policy.ts';
import type { Outbox } from './webhooks.ts';
import type { UsageRecorder } from './usage.ts';
import type { ProgressRecorder } from './progress.ts';
import type { WindowAudit } from './audit.ts';

/** Test seam: runs after the store write and before the offset commit (the crash test kills here). */
export type AfterWrite = (outcome: FindingOutcome, finding: Finding) => Promise<void> | void;

export type Rejected = { reason: string };

export interface LifecycleObserver {
  cameraStatus(s: StoredCameraStatus): void;
  evidenceFrame(camera: string, jpeg: Buffer): void;
}

/**
 * The incident lifecycle: folds positive findings into episodes, tracks camera status and
 * offline spells, closes quiet episodes and expires old evidence, and tells Socket.IO and the
 * webhook outbox. Every write happens before the handler resolves, so the bus commits the
 * offset only once the incident is stored.
 */
export class IncidentLifecycle {
  private readonly replica = randomUUID();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;

  constructor(
    private config: VigilConfig,
    private readonly store: IncidentStore,
    private readonly state: SharedState,
    private readonly policy: AlertPolicy,
    private readonly evidence: EvidenceFiles,
    private readonly live: LiveEvents,
    private readonly webhooks: Outbox,
    private readonly metrics: AlertsMetrics,
    private readonly log: Logger,
    private readonly afterWrite?: AfterWrite,
    private readonly usage?: UsageRecorder,
    private readonly progress?: ProgressRecorder,
    /** Told of each stored camera status and each positive window's last frame (MQTT). */
    private readonly observer?: LifecycleObserver,
    /** Every window decided: asked ones from findings, skipped ones from progress. */
    private readonly audit?: WindowAudit,
  ) {}

  /** Takes a reloaded config (cameras, offline grace, retention); cameras it dropped are forgotten. */
  async update(next: VigilConfig): Promise<string[]> {
    const keep = new Set(next.cameras.map((c) => c.id));
    const removed = this.config.cameras.map((c) => c.id).filter((id) => !keep.has(id));
    this.config = next;
    this.audit?.update(next.alerts.audit.retentionMs);
    for (const id of removed) await this.store.forgetCamera(id);
    return removed;
  }

  /**
   * Handles one `vigil.findings` message; returns a reason when it fails FindingSchema (dead
   * letter), so a poison message never reaches the store and never stops the consumer.
   */
  async onFinding(m: InMessage): Promise<Rejected | undefined> {
    if (m.headers[MESSAGE_TYPE_HEADER] === PROGRESS_TYPE) {
      const p = parseWindowProgress(m.value);
      if (!p.ok) return { reason: p.reason };
      await this.audit?.skips(p.value);
      this.progress?.add(p.value);
      return undefined;
    }
    const decoded = parseFinding(m.value);
    if (!decoded.ok) return { reason: decoded.reason };
    const f = decoded.value;
    this.metrics.findings.inc({ verdict: String(f.verdict) });
    this.usage?.add(f);
    await this.audit?.finding(f);
    const policy = this.policy.forFinding(f.cameraId, f.queryId);
    if (!f.verdict) {
      // A query with `confirm` or `clear_after` counts its "no" windows too (only answered ones).
      if (!keepsWindows(policy) || f.status !== 'ok') return undefined;
      const { closed } = await this.store.recordNegative(f, policy);
      if (closed) {
        this.closedEpisode(closed);
        this.webhooks.kick();
      }
      return undefined;
    }
    const t0 = performance.now();
    const r = await this.store.recordFinding(f, policy);
    this.metrics.writeSeconds.observe((performance.now() - t0) / 1000);
    if (r.closed) this.closedEpisode(r.closed);
    if (r.outcome === 'pending') {
      this.metrics.unconfirmed.inc({ query: f.queryId });
      return undefined;
    }
    await this.afterWrite?.(r, f);
    // A shadow query's episode is stored and nothing more: no announcement, evidence or MQTT frame.
    if (r.shadow) {
      if (r.outcome === 'opened') this.metrics.shadowIncidents.inc({ query: f.queryId });
      return undefined;
    }
    const incident = r.incident;
    if (r.outcome === 'duplicate') {
      this.metrics.duplicates.inc();
      // A replay whose first delivery may have died before telling anyone (killed between the
      // write and the commit), or another replica's copy racing it: announce once.
      if (incident.findingId === f.id && (await this.firstToAnnounce(incident))) this.live.incident('incident:new', incident);
    } else if (r.outcome === 'opened') {
      this.metrics.incidents.inc({ camera: incident.camera, query: incident.query });
      this.log.info({ id: incident.id, camera: incident.camera, query: incident.query }, 'incident opened');
      this.live.incident((await this.firstToAnnounce(incident)) ? 'incident:new' : 'incident:update', incident);
      this.webhooks.kick();
    } else {
      this.metrics.extended.inc();
      this.live.incident('incident:update', incident);
      this.webhooks.kick();
    }
    // Evidence after the announcement: the clip takes an ffmpeg run, operators should not wait
    // for it. Still before the commit, so a crash here is finished by the replay.
    const last = f.evidenceFrames?.[f.evidenceFrames.length - 1];
    if (last && r.outcome !== 'duplicate') this.observer?.evidenceFrame(f.cameraId, Buffer.from(last.jpeg, 'base64'));
    if (r.evidencePending) {
      const withEvidence = await this.storeEvidence(f, incident, r.outcome === 'opened' || !incident.evidence.clip_url);
      if (withEvidence) this.live.incident('incident:update', withEvidence);
    }
    return undefined;
  }

  /**
   * Redis SET NX: exactly one replica (or one delivery of a replayed finding) announces an
   * incident. With Redis away this replica announces anyway: a client may hear an incident
   * twice (it keys them by id), but none is missed and the write path never waits on Redis.
   */
  private firstToAnnounce(i: Incident): Promise<boolean> {
    return this.state.setIfAbsent(`incident-announced:${i.id}`, this.replica, 24 * 3_600_000).catch((e: unknown) => {
      this.log.warn({ err: (e as Error).message, id: i.id }, 'shared state unavailable: announcing without the once-only check');
      return true;
    });
  }

  /** Evidence failures never lose the incident: it is stored without evidence, and counted. */
  private async storeEvidence(f: Finding, incident: Incident, withClip: boolean): Promise<Incident | undefined> {
    try {
      return await this.store.attachEvidence(incident.id, await this.evidence.save(f, withClip));
    } catch (e) {
      this.metrics.evidenceFailures.inc();
      this.log.warn({ id: incident.id, finding: f.id, err: (e as Error).message }, 'evidence not stored');
      return undefined;
    }
  }

  /** Handles one `vigil.camera-status` message; returns a reason when it fails CameraStatusSchema (dead letter). */
  async onCameraStatus(m: InMessage): Promise<Rejected | undefined> {
    const decoded = parseCameraStatus(m.value);
    if (!decoded.ok) return { reason: decoded.reason };
    const s = decoded.value;
    // A camera that left the config is forgotten, not an outage: no spell, no offline incident.
    if (s.state === 'removed') {
      await this.store.forgetCamera(s.cameraId);
      return undefined;
    }
    // A shared broker carries other deployments' cameras too: only ours become incidents.
    if (!this.config.cameras.some((c) => c.id === s.cameraId)) return undefined;
    const { stored, closed } = await this.store.saveCameraStatus(s);
    const site = this.config.cameras.find((c) => c.id === s.cameraId)?.site;
    if (stored) {
      this.live.cameraStatus(stored, site);
      this.observer?.cameraStatus(stored);
    }
    if (closed) {
      this.closedEpisode(closed);
      this.webhooks.kick();
    }
    return undefined;
  }

  private closedEpisode(i: Incident): void {
    this.metrics.closed.inc({ kind: i.kind });
    this.live.incident('incident:close', i);
  }

  /** Periodic work: close quiet episodes, open offline incidents, expire evidence. */
  start(tickMs: number): void {
    this.timer = setInterval(() => {
      if (this.ticking) return;
      this.ticking = this.tick(tickMs)
        .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'periodic incident work failed'))
        .finally(() => (this.ticking = undefined));
    }, tickMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
  }

  /**
   * One replica does each tick's work (Redis SET NX with expiry): the SQL is safe to run
   * concurrently, but there is no point in every replica scanning for the same rows.
   */
  async tick(tickMs: number, now = new Date()): Promise<void> {
    // Without Redis every replica sweeps: the SQL is safe to run concurrently (SKIP LOCKED).
    if (!(await this.state.setIfAbsent('alerts:tick', this.replica, Math.max(100, tickMs - 50)).catch(() => true))) return;
    await this.progress?.flush(); // this replica's latest progress counts in this sweep
    // Only real episodes are passed here; one whose query became a shadow still tells whom it told it opened.
    for (const i of await this.store.closeQuiet(now, (q) => (this.policy.isShadow(q) ? this.policy.webhooks('close') : this.policy.webhooks('close', q)))) this.closedEpisode(i);
    for (const i of await this.store.openOfflineIncidents(now, this.config.alerts.offlineGraceMs, (c) => this.policy.forOffline(c))) {
      this.metrics.incidents.inc({ camera: i.camera, query: i.query });
      this.log.warn({ id: i.id, camera: i.camera }, 'camera offline past its grace: incident opened');
      this.live.incident('incident:new', i);
    }
    this.webhooks.kick();
    await this.expireEvidence(now);
    // Kept windows only matter within a few windows of now; a day covers any `confirm` and replays.
    await this.store.pruneWindows(new Date(now.getTime() - 24 * 3_600_000));
    await this.audit?.expire();
  }

  /** Retention: evidence older than max_age, then the oldest while over max_size; text stays. */
  async expireEvidence(now: Date): Promise<void> {
    const { maxAgeMs, maxBytes } = this.config.alerts.evidence;
    for (;;) {
      const batch = await this.store.evidenceToExpire(new Date(now.getTime() - maxAgeMs), maxBytes, 100);
      if (batch.length === 0) break;
      for (const b of batch) await this.evidence.remove(b.evidence);
      await this.store.markEvidenceDeleted(batch.map((b) => b.id));
      this.metrics.evidenceDeleted.inc(batch.length);
    }
    this.metrics.evidenceBytes.set(await this.store.evidenceBytes());
  }
}
