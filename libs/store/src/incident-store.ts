import type { CameraStatus, Finding, Incident, Label, ShadowDifferencePage, ShadowSummary, SkipRun, WebhookDelivery, WindowPage } from '@vigil/contracts';
import { shadowDifferences, shadowSummary } from './shadows.ts';
import { WindowAuditTables } from './audit.ts';
import { LabelTable, type LabelSearch, type NewLabel } from './labels.ts';
import type { SqlDatabase } from './database.ts';
import { migrate } from './migrate.ts';
import { actTx, closeQuietTx, DEFAULT_STALE_MS, lockEpisode, pruneWindowsTx, recordFindingTx, recordNegativeTx } from './lifecycle.ts';
import { OFFLINE_QUERY, openOfflineTx, rowToStatus, saveCameraStatusTx } from './camera-status.ts';
import { encodeCursor, evidenceEntries, INCIDENT_COLUMNS, rowToIncident, searchSql } from './sql.ts';
import { modelStatsSql, statsSql, uptimeSql, usageSql } from './stats.ts';
import type {
  ClaimedDelivery,
  EvidenceEntry,
  FindingOutcome,
  FindingPolicy,
  IncidentPage,
  IncidentSearch,
  IncidentStore,
  ModelStatsRequest,
  ModelUsageDelta,
  ShadowRange,
  StatsRequest,
  StatsSeries,
  StoredCameraStatus,
  UptimeRequest,
  ValueSeries,
  WindowSearch,
} from './store.ts';

/** The incident store over any SqlDatabase (PostgreSQL server or embedded PGlite). */
export class SqlIncidentStore implements IncidentStore {
  private readonly audit: WindowAuditTables;
  private readonly labels: LabelTable;

  private constructor(readonly db: SqlDatabase) {
    this.audit = new WindowAuditTables(db);
    this.labels = new LabelTable(db);
  }

  /** Migrates the database, then serves incidents from it. Takes ownership of `db`. */
  static async open(db: SqlDatabase): Promise<SqlIncidentStore> {
    await migrate(db);
    return new SqlIncidentStore(db);
  }

  recordFinding(finding: Finding, policy: FindingPolicy): Promise<FindingOutcome> {
    return this.db.transaction((tx) => recordFindingTx(tx, finding, policy));
  }

  recordNegative(finding: Finding, policy: FindingPolicy): Promise<{ closed?: Incident }> {
    return this.db.transaction((tx) => recordNegativeTx(tx, finding, policy));
  }

  pruneWindows(before: Date): Promise<void> {
    return this.db.transaction((tx) => pruneWindowsTx(tx, before));
  }

  attachEvidence(incidentId: string, entry: EvidenceEntry): Promise<Incident | undefined> {
    return this.db.transaction(async (tx) => {
      const claimed = await tx.query('UPDATE incident_findings SET evidence_done = true WHERE finding_id = $1 AND evidence_done = false RETURNING 1', [entry.finding]);
      const append = claimed.rows.length > 0 && (entry.frames.length > 0 || entry.clip !== undefined);
      const sql = append
        ? `UPDATE incidents SET evidence = evidence || $2::jsonb, evidence_bytes = evidence_bytes + $3, updated_at = now() WHERE id = $1 RETURNING ${INCIDENT_COLUMNS}`
        : `SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1`;
      const params = append ? [incidentId, JSON.stringify([entry]), entry.bytes] : [incidentId];
      const row = (await tx.query(sql, params)).rows[0];
      return row && rowToIncident(row);
    });
  }

  closeQuiet(now: Date, closeWebhooks: (query: string) => string[], staleMs = DEFAULT_STALE_MS): Promise<Incident[]> {
    return this.db.transaction((tx) => closeQuietTx(tx, now, closeWebhooks, staleMs));
  }

  recordWindows(findings: Finding[]): Promise<number> {
    return this.audit.record(findings);
  }

  recordSkips(camera: string, query: string, runs: SkipRun[]): Promise<void> {
    return this.audit.recordSkips(camera, query, runs);
  }

  searchWindows(s: WindowSearch): Promise<WindowPage> {
    return this.audit.search(s);
  }

  addLabel(l: NewLabel): Promise<Label> {
    return this.labels.add(l);
  }

  listLabels(s: LabelSearch): Promise<Label[]> {
    return this.labels.list(s);
  }

  deleteLabel(id: string): Promise<boolean> {
    return this.labels.delete(id);
  }

  shadowSummary(shadow: { query: string; shadows: string }, r: ShadowRange): Promise<ShadowSummary> {
    return shadowSummary(this.db, shadow, r);
  }

  shadowDifferences(shadow: { query: string; shadows: string }, r: ShadowRange & { limit: number; cursor?: string }): Promise<ShadowDifferencePage> {
    return shadowDifferences(this.db, shadow, r);
  }

  expireWindows(cutoff: Date): Promise<{ partitions: string[]; skips: number }> {
    return this.audit.expire(cutoff);
  }

  async recordProgress(items: { camera: string; query: string; through: number }[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.query(
      `INSERT INTO episode_progress AS p (camera, query, through)
       SELECT c, q, to_timestamp(t / 1000.0) FROM unnest($1::text[], $2::text[], $3::float8[]) AS x(c, q, t)
       ON CONFLICT (camera, query) DO UPDATE SET through = GREATEST(p.through, excluded.through), updated_at = now()`,
      [items.map((i) => i.camera), items.map((i) => i.query), items.map((i) => i.through)],
    );
  }

  act(id: string, action: 'ack' | 'resolve', by: string, note: string, webhooks?: (query: string) => string[]): Promise<Incident | undefined | 'conflict'> {
    return this.db.transaction((tx) => actTx(tx, id, action, by, note, webhooks));
  }

  async get(id: string, opts: { deliveries?: boolean } = {}): Promise<Incident | undefined> {
    const row = (await this.db.query(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE id = $1 AND NOT shadow`, [id])).rows[0];
    if (!row) return undefined;
    const inc = rowToIncident(row);
    if (opts.deliveries) inc.deliveries = await this.deliveriesOf(id);
    return inc;
  }

  async evidenceOf(id: string): Promise<EvidenceEntry[] | undefined> {
    const row = (await this.db.query('SELECT evidence FROM incidents WHERE id = $1 AND NOT shadow', [id])).rows[0];
    return row ? evidenceEntries(row.evidence) : undefined;
  }

  async search(s: IncidentSearch): Promise<IncidentPage> {
    // An index-only lookup (incidents_span_idx); it bounds the time-range scan below.
    const span = s.from ? (await this.db.query<{ ms: number | string | null }>('SELECT extract(epoch FROM max(ended_at - started_at)) * 1000 AS ms FROM incidents WHERE NOT shadow')).rows[0]?.ms : 0;
    const { sql, params } = searchSql(s, Math.ceil(Number(span ?? 0)));
    const rows = (await this.db.query(sql, params)).rows.map(rowToIncident);
    const more = rows.length > s.limit;
    const items = more ? rows.slice(0, s.limit) : rows;
    return { items, next_cursor: more ? encodeCursor(items[items.length - 1]!, s.sort ?? 'newest') : null };
  }

  async active(limit: number): Promise<Incident[]> {
    const res = await this.db.query(`SELECT ${INCIDENT_COLUMNS} FROM incidents WHERE closed_at IS NULL AND NOT shadow ORDER BY started_at DESC, id DESC LIMIT $1`, [limit]);
    return res.rows.map(rowToIncident);
  }

  async stats(r: StatsRequest): Promise<StatsSeries[]> {
    const { sql, params } = statsSql(r);
    const series = new Map<string, StatsSeries>();
    for (const row of (await this.db.query<{ t: Date | string; key: string | null; n: string | number }>(sql, params)).rows) {
      const key = row.key ?? '';
      const s = series.get(key) ?? { key, points: [] };
      s.points.push({ t: new Date(row.t).toISOString(), count: Number(row.n) });
      series.set(key, s);
    }
    return [...series.values()];
  }

  async addModelUsage(deltas: ModelUsageDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const { sql, params } = usageSql(deltas);
    await this.db.query(sql, params);
  }

  async modelStats(r: ModelStatsRequest): Promise<ValueSeries[]> {
    const { sql, params } = modelStatsSql(r);
    type Row = { t: Date | string; key: string; findings: string | number; errors: string | number; latency: string | number; prompt: string | number; completion: string | number };
    const value = (row: Row): number => {
      const n = (v: string | number) => Number(v);
      switch (r.metric) {
        case 'latency_ms':
          return n(row.findings) > 0 ? Math.round(n(row.latency) / n(row.findings)) : 0;
        case 'tokens':
          return n(row.prompt) + n(row.completion);
        case 'prompt_tokens':
          return n(row.prompt);
        case 'completion_tokens':
          return n(row.completion);
        case 'requests':
          return n(row.findings);
        case 'errors':
          return n(row.errors);
      }
    };
    return toValueSeries((await this.db.query<Row>(sql, params)).rows, value);
  }

  async uptime(r: UptimeRequest): Promise<ValueSeries[]> {
    const { sql, params } = uptimeSql(r);
    type Row = { t: Date | string; key: string; up: string | number | null; known: string | number };
    // One decimal: a camera down for 36 s of an hour shows 99.0, not 100.
    const value = (row: Row) => Math.round((1000 * Number(row.up ?? 0)) / Number(row.known)) / 10;
    return toValueSeries((await this.db.query<Row>(sql, params)).rows, value);
  }

  saveCameraStatus(s: CameraStatus): Promise<{ stored: StoredCameraStatus | undefined; closed?: Incident }> {
    return this.db.transaction((tx) => saveCameraStatusTx(tx, s));
  }

  async forgetCamera(camera: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await lockEpisode(tx, camera, OFFLINE_QUERY);
      await tx.query('DELETE FROM camera_status WHERE camera = $1', [camera]);
      await tx.query('UPDATE camera_spells SET ended_at = now() WHERE camera = $1 AND ended_at IS NULL', [camera]);
    });
  }

  async cameraStatuses(): Promise<StoredCameraStatus[]> {
    return (await this.db.query('SELECT camera, state, since, at, status FROM camera_status ORDER BY camera')).rows.map(rowToStatus);
  }

  openOfflineIncidents(now: Date, graceMs: number, policy: (camera: string) => { site?: string; webhooks: string[] }): Promise<Incident[]> {
    return this.db.transaction((tx) => openOfflineTx(tx, now, graceMs, policy));
  }

  async evidenceToExpire(cutoff: Date, maxBytes: number, limit: number): Promise<{ id: string; evidence: EvidenceEntry[] }[]> {
    const pick = (rows: Record<string, unknown>[]) => rows.map((r) => ({ id: String(r.id), evidence: evidenceEntries(r.evidence) }));
    const old = await this.db.query(`SELECT id, evidence FROM incidents WHERE evidence_bytes > 0 AND ended_at < $1 ORDER BY started_at LIMIT $2`, [cutoff, limit]);
    if (old.rows.length) return pick(old.rows);
    let excess = (await this.evidenceBytes()) - maxBytes;
    if (excess <= 0) return [];
    const oldest = await this.db.query(`SELECT id, evidence, evidence_bytes FROM incidents WHERE evidence_bytes > 0 ORDER BY started_at LIMIT $1`, [limit]);
    const take: Record<string, unknown>[] = [];
    for (const r of oldest.rows) {
      if (excess <= 0) break;
      take.push(r);
      excess -= Number(r.evidence_bytes);
    }
    return pick(take);
  }

  async markEvidenceDeleted(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(`UPDATE incidents SET evidence = '[]', evidence_bytes = 0, evidence_deleted_at = now(), updated_at = now() WHERE id = ANY($1::text[])`, [ids]);
  }

  async evidenceBytes(): Promise<number> {
    return Number((await this.db.query<{ n: string }>('SELECT coalesce(sum(evidence_bytes), 0) AS n FROM incidents WHERE evidence_bytes > 0')).rows[0]?.n ?? 0);
  }

  async claimDeliveries(limit: number, leaseMs: number, target: { only?: string; except?: string } = {}): Promise<ClaimedDelivery[]> {
    const res = await this.db.query<{ id: string; incident_id: string; webhook: string; event: WebhookDelivery['event']; attempts: number; state: string | null }>(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = now() + $2 * interval '1 millisecond'
       WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= now()
                      AND ($3::text IS NULL OR webhook = $3) AND ($4::text IS NULL OR webhook <> $4)
                    ORDER BY next_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, incident_id, webhook, event, attempts, state`,
      [limit, leaseMs, target.only ?? null, target.except ?? null],
    );
    return res.rows.map((r) => ({ id: String(r.id), incidentId: r.incident_id, webhook: r.webhook, event: r.event, attempts: Number(r.attempts), state: r.state ?? undefined }));
  }

  async finishDelivery(id: string, result: { ok: true } | { ok: false; error: string; retryAt: Date | null }): Promise<void> {
    if (result.ok) {
      await this.db.query(`UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_error = NULL WHERE id = $1`, [id]);
    } else {
      await this.db.query(`UPDATE webhook_deliveries SET status = $2, last_error = $3, next_at = coalesce($4, next_at) WHERE id = $1`, [
        id,
        result.retryAt ? 'pending' : 'failed',
        result.error.slice(0, 500),
        result.retryAt,
      ]);
    }
  }

  async deliveriesOf(incidentId: string): Promise<WebhookDelivery[]> {
    const res = await this.db.query(
      'SELECT webhook, event, status, attempts, last_error, delivered_at, next_at FROM webhook_deliveries WHERE incident_id = $1 ORDER BY id',
      [incidentId],
    );
    const iso = (v: unknown) => (v ? new Date(v as string | Date).toISOString() : null);
    return res.rows.map((r) => ({
      webhook: String(r.webhook),
      event: r.event as WebhookDelivery['event'],
      status: r.status as WebhookDelivery['status'],
      attempts: Number(r.attempts),
      last_error: (r.last_error as string | null) ?? null,
      delivered_at: iso(r.delivered_at),
      next_attempt_at: r.status === 'pending' ? iso(r.next_at) : null,
    }));
  }

  async ping(): Promise<boolean> {
    try {
      await this.db.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Rows ordered by key then time become one series per key. */
function toValueSeries<R extends { t: Date | string; key: string | null }>(rows: R[], value: (r: R) => number): ValueSeries[] {
  const series = new Map<string, ValueSeries>();
  for (const row of rows) {
    const key = row.key ?? '';
    const s = series.get(key) ?? { key, points: [] };
    s.points.push({ t: new Date(row.t).toISOString(), value: value(row) });
    series.set(key, s);
  }
  return [...series.values()];
}
