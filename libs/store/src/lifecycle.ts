import type { Finding, Incident } from '@vigil/contracts';
import type { SqlRunner } from './database.ts';
import { INCIDENT_COLUMNS, rowToIncident } from './sql.ts';
import { keepsWindows, type FindingOutcome, type FindingPolicy } from './store.ts';

/**
 * Serialises everything that touches one (camera, query) episode, across every replica on
 * the same database, until the transaction ends. Together with the unique index on active
 * episodes this is what makes "one incident per episode" hold when replicas race.
 */
export async function lockEpisode(tx: SqlRunner, camera: string, query: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`episode/${camera}/${query}`]);
}

/**
 * Adds webhook deliveries to the outbox in the caller's transaction (idempotent per ref), with
 * the incident's state as the change left it: callers enqueue after they update.
 */
export async function enqueueDeliveries(tx: SqlRunner, incidentId: string, webhooks: string[], event: string, ref = ''): Promise<void> {
  if (webhooks.length === 0) return;
  await tx.query(
    `INSERT INTO webhook_deliveries (incident_id, webhook, event, ref, state)
     SELECT $1, w, $3, $4, (SELECT state FROM incidents WHERE id = $1) FROM unnest($2::text[]) AS w ON CONFLICT DO NOTHING`,
    [incidentId, webhooks, event, ref],
  );
}

const one = async (tx: SqlRunner, sql: string, params: unknown[]): Promise<Incident | undefined> => {
  const row = (await tx.query(sql, params)).rows[0];
  return row ? rowToIncident(row) : undefined;
};

/** A state for an incident whose episode ends: `open` becomes `closed`, operator states stay. */
export const CLOSE_SET = `closed_at = now(), updated_at = now(), state = CASE WHEN state = 'open' THEN 'closed' ELSE state END`;

/** The body of recordFinding, run inside one transaction. */
export async function recordFindingTx(tx: SqlRunner, f: Finding, policy: FindingPolicy): Promise<FindingOutcome> {
  await lockEpisode(tx, f.cameraId, f.queryId);
  // A finding without frames has no evidence to store: it is complete with this transaction.
  const hasEvidence = (f.evidenceFrames?.length ?? 0) > 0;
  const seen = (await tx.query<{ incident_id: string; evidence_done: boolean }>('SELECT incident_id, evidence_done FROM incident_findings WHERE finding_id = $1', [f.id])).rows[0];
  if (seen) {
    const row = (await tx.query(`SELECT ${INCIDENT_COLUMNS}, shadow FROM incidents WHERE id = $1`, [seen.incident_id])).rows[0]!;
    return { outcome: 'duplicate', incident: rowToIncident(row), evidencePending: !seen.evidence_done, shadow: row.shadow === true };
  }
  if (keepsWindows(policy)) await keepWindow(tx, f);
  const shadow = policy.shadow === true;
  const active = (await tx.query(`SELECT id, started_at, close_after, shadow FROM incidents WHERE camera = $1 AND query = $2 AND closed_at IS NULL FOR UPDATE`, [f.cameraId, f.queryId])).rows[0];
  // A query that became (or stopped being) a shadow starts a new episode: one kind never extends the other.
  const switched = active !== undefined && active.shadow !== shadow;
  const activeRow = switched ? undefined : active;
  let closed = switched ? await closeActive(tx, String(active.id), active.shadow === true, policy) : undefined;
  const closeAfter = new Date(f.windowEnd + policy.cooldownMs);
  const end = new Date(f.windowEnd);
  if (activeRow) {
    const activeStart = new Date(activeRow.started_at as string | Date).getTime();
    const activeCloseAfter = activeRow.close_after ? new Date(activeRow.close_after as string | Date).getTime() : Infinity;
    if (f.windowStart <= activeCloseAfter && f.windowEnd >= activeStart - policy.cooldownMs) {
      // query_version follows the answer: the latest window's (by capture time), so a query
      // changed mid-episode shows its new version; a finding without one keeps the stored one.
      const incident = await one(
        tx,
        `UPDATE incidents SET
           started_at = LEAST(started_at, $2), ended_at = GREATEST(ended_at, $3),
           close_after = GREATEST(close_after, $4),
           answer = CASE WHEN $3 >= ended_at THEN $5 ELSE answer END,
           reasoning = CASE WHEN $3 >= ended_at THEN $6 ELSE reasoning END,
           query_version = CASE WHEN $3 >= ended_at THEN COALESCE($9, query_version) ELSE query_version END,
           model = $7, latency_ms = $8, finding_count = finding_count + 1, updated_at = now(),
           window_ms = GREATEST(window_ms, $10)
         WHERE id = $1 RETURNING ${INCIDENT_COLUMNS}`,
        [activeRow.id, new Date(f.windowStart), end, closeAfter, f.answer, f.reasoning, f.model?.id ?? '', Math.round(f.latencyMs ?? 0), f.queryVersion ?? null, Math.max(0, Math.round(policy.windowMs ?? 0))],
      );
      await tx.query('INSERT INTO incident_findings (finding_id, incident_id, evidence_done) VALUES ($1, $2, $3)', [f.id, activeRow.id, !hasEvidence]);
      if (!shadow) await enqueueDeliveries(tx, String(activeRow.id), policy.webhooks.update, 'update', f.id);
      return { outcome: 'extended', incident: incident!, evidencePending: hasEvidence, shadow };
    }
  }
  // A new episode. The active one, if any, went quiet by capture time before the sweep saw it;
  // a finding older than the active episode (a late replay) becomes an incident already closed.
  const olderThanActive = activeRow !== undefined && f.windowEnd < new Date(activeRow.started_at as string | Date).getTime();
  // N-of-M: a new episode needs enough positive windows among the last `of` (on capture time).
  let confirmedBy: string[] = [];
  let start = new Date(f.windowStart);
  if (policy.confirm && !olderThanActive) {
    const confirmed = await confirmation(tx, f, policy.confirm, policy.everyMs ?? 0);
    if (!confirmed) return { outcome: 'pending', evidencePending: false, closed };
    confirmedBy = confirmed.ids;
    start = confirmed.start;
  }
  if (activeRow && !olderThanActive) closed = await closeActive(tx, String(activeRow.id), shadow, policy);
  const incident = await one(
    tx,
    `INSERT INTO incidents (id, finding_id, kind, camera, site, query, question, answer, reasoning, severity,
       started_at, ended_at, close_after, closed_at, state, model, latency_ms, query_version, window_ms, confirmed_by, shadow)
     VALUES ($1, $1, $16, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $17, $18, $19, $20)
     RETURNING ${INCIDENT_COLUMNS}`,
    [
      f.id,
      f.cameraId,
      policy.site ?? null,
      f.queryId,
      f.question,
      f.answer,
      f.reasoning,
      policy.severity,
      start,
      end,
      closeAfter,
      olderThanActive ? new Date() : null,
      olderThanActive ? 'closed' : 'open',
      f.model?.id ?? '',
      Math.round(f.latencyMs ?? 0),
      f.status === 'trigger' ? 'trigger' : 'finding',
      f.queryVersion ?? null,
      Math.max(0, Math.round(policy.windowMs ?? 0)),
      confirmedBy,
      shadow,
    ],
  );
  await tx.query('INSERT INTO incident_findings (finding_id, incident_id, evidence_done) VALUES ($1, $1, $2)', [f.id, !hasEvidence]);
  if (!olderThanActive && !shadow) await enqueueDeliveries(tx, f.id, policy.webhooks.open, 'open');
  return { outcome: 'opened', incident: incident!, closed, evidencePending: hasEvidence, shadow };
}

/**
 * Ends an active episode; a shadow one ends silently (no webhook, not returned to announce). A
 * real one whose query has since become a shadow still tells whom it told it opened.
 */
async function closeActive(tx: SqlRunner, id: string, wasShadow: boolean, policy: FindingPolicy): Promise<Incident | undefined> {
  const closed = await one(tx, `UPDATE incidents SET ${CLOSE_SET} WHERE id = $1 RETURNING ${INCIDENT_COLUMNS}`, [id]);
  if (wasShadow) return undefined;
  await enqueueDeliveries(tx, id, policy.shadow ? (policy.formerClose ?? []) : policy.webhooks.close, 'close');
  return closed;
}

/** Keeps an answered window of a query with `confirm` or `clear_after` (idempotent: replays keep it once). */
async function keepWindow(tx: SqlRunner, f: Finding): Promise<void> {
  await tx.query(
    `INSERT INTO query_windows (finding_id, camera, query, window_start, window_end, verdict) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (finding_id) DO NOTHING`,
    [f.id, f.cameraId, f.queryId, new Date(f.windowStart), new Date(f.windowEnd), f.verdict],
  );
}

/**
 * Whether `need` of the last `of` windows are positive, for any run of `of` windows that holds
 * this one (findings may arrive out of order: a late window can complete a run that ends after
 * it). The last `of` windows of a run ending at E are those ending within (E − of × every, E];
 * a window the trigger skipped is not in the table and counts as negative. Returns the
 * positive windows of the first run that confirms, and where its first one starts.
 */
async function confirmation(tx: SqlRunner, f: Finding, c: { of: number; need: number }, everyMs: number): Promise<{ ids: string[]; start: Date } | undefined> {
  // Half a period of slack: window ends (last frame's capture time) jitter around the grid.
  const span = Math.max(1, c.of * everyMs - everyMs / 2);
  const rows = (
    await tx.query<{ finding_id: string; window_start: string | Date; window_end: string | Date; verdict: boolean }>(
      `SELECT finding_id, window_start, window_end, verdict FROM query_windows
       WHERE camera = $1 AND query = $2 AND window_end > $3 AND window_end < $4 ORDER BY window_end`,
      [f.cameraId, f.queryId, new Date(f.windowEnd - span), new Date(f.windowEnd + span)],
    )
  ).rows.map((r) => ({ id: r.finding_id, start: new Date(r.window_start), end: new Date(r.window_end).getTime(), verdict: r.verdict }));
  for (const anchor of rows.filter((r) => r.end >= f.windowEnd)) {
    const run = rows.filter((r) => r.end <= anchor.end && r.end > anchor.end - span);
    if (!run.some((r) => r.id === f.id)) continue;
    const positive = run.filter((r) => r.verdict);
    if (positive.length >= c.need) return { ids: positive.map((r) => r.id), start: positive[0]!.start };
  }
  return undefined;
}

/**
 * A negative window of a query that keeps its windows. With `clear_after: n`, the open episode
 * ends once n windows in a row after its last positive one were negative.
 */
export async function recordNegativeTx(tx: SqlRunner, f: Finding, policy: FindingPolicy): Promise<{ closed?: Incident }> {
  await lockEpisode(tx, f.cameraId, f.queryId);
  await keepWindow(tx, f);
  if (!policy.clearAfter) return {};
  const active = (
    await tx.query<{ id: string; ended_at: string | Date; shadow: boolean }>(`SELECT id, ended_at, shadow FROM incidents WHERE camera = $1 AND query = $2 AND closed_at IS NULL FOR UPDATE`, [f.cameraId, f.queryId])
  ).rows[0];
  if (!active || f.windowEnd <= new Date(active.ended_at).getTime()) return {};
  // Windows after the episode's last positive one, in capture order: a positive one among them means not clear yet.
  const after = (
    await tx.query<{ verdict: boolean }>(`SELECT verdict FROM query_windows WHERE camera = $1 AND query = $2 AND window_end > $3 ORDER BY window_end`, [f.cameraId, f.queryId, active.ended_at])
  ).rows;
  if (after.length < policy.clearAfter || after.slice(0, policy.clearAfter).some((r) => r.verdict)) return {};
  return { closed: await closeActive(tx, active.id, active.shadow, policy) };
}

/** Drops kept windows older than `before` (they can no longer confirm or clear anything). */
export async function pruneWindowsTx(tx: SqlRunner, before: Date): Promise<void> {
  await tx.query('DELETE FROM query_windows WHERE window_end < $1', [before]);
}

/** Closes episodes whose cooldown passed; SKIP LOCKED hands each to exactly one replica. */
export async function closeQuietTx(tx: SqlRunner, now: Date, closeWebhooks: (query: string) => string[], staleMs = DEFAULT_STALE_MS): Promise<Incident[]> {
  const rows = (
    await tx.query(
      `UPDATE incidents SET ${CLOSE_SET}
       WHERE id IN (
         SELECT i.id FROM incidents i
           LEFT JOIN episode_progress p ON p.camera = i.camera AND p.query = i.query
           LEFT JOIN camera_status s ON s.camera = i.camera
         WHERE i.closed_at IS NULL AND i.close_after IS NOT NULL AND (
           p.through >= i.close_after + i.window_ms * interval '1 millisecond'
           OR (i.close_after < $1 AND s.state = 'offline')
           OR (i.close_after < $1 AND p.updated_at < $1 - $2 * interval '1 millisecond')
           OR (p.updated_at IS NULL AND i.close_after < $1 - $2 * interval '1 millisecond'))
         ORDER BY i.close_after LIMIT 500 FOR UPDATE OF i SKIP LOCKED)
       RETURNING ${INCIDENT_COLUMNS}, shadow`,
      [now, staleMs],
    )
  ).rows
    // Shadow episodes close by the same rules, silently: nobody was told they opened.
    .filter((r) => r.shadow !== true)
    .map(rowToIncident);
  for (const i of rows) await enqueueDeliveries(tx, i.id, closeWebhooks(i.query), 'close');
  return rows;
}

/**
 * How long without progress for a (camera, query) before its episodes may close by the wall
 * clock: longer than a rebalance or a restart of infer (seconds), so those never split an
 * episode; short enough that an episode of a stopped stream still ends within a minute or two.
 */
export const DEFAULT_STALE_MS = 60_000;

/** Acknowledge (open or closed incidents) or resolve (any not yet resolved; ends the episode). */
export async function actTx(
  tx: SqlRunner,
  id: string,
  action: 'ack' | 'resolve',
  by: string,
  note: string,
  webhooks: (query: string) => string[] = () => [],
): Promise<Incident | undefined | 'conflict'> {
  const sql =
    action === 'ack'
      ? `UPDATE incidents SET state = 'acknowledged', ack_by = $2, ack_at = now(), ack_note = $3, updated_at = now()
         WHERE id = $1 AND state IN ('open', 'closed') AND NOT shadow RETURNING ${INCIDENT_COLUMNS}`
      : `UPDATE incidents SET state = 'resolved', resolved_by = $2, resolved_at = now(), resolve_note = $3,
           closed_at = coalesce(closed_at, now()), updated_at = now()
         WHERE id = $1 AND state <> 'resolved' AND NOT shadow RETURNING ${INCIDENT_COLUMNS}`;
  const done = await one(tx, sql, [id, by, note]);
  if (done) {
    // Told in the same transaction: the operator's action and its webhooks land together.
    await enqueueDeliveries(tx, id, webhooks(done.query), action);
    return done;
  }
  const exists = (await tx.query('SELECT 1 FROM incidents WHERE id = $1 AND NOT shadow', [id])).rows.length > 0;
  return exists ? 'conflict' : undefined;
}
