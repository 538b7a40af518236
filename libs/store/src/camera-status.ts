import { createHash } from 'node:crypto';
import type { CameraStatus, Incident } from '@vigil/contracts';
import type { SqlRunner } from './database.ts';
import { CLOSE_SET, enqueueDeliveries, lockEpisode } from './lifecycle.ts';
import { INCIDENT_COLUMNS, rowToIncident } from './sql.ts';
import type { StoredCameraStatus } from './store.ts';

/** The pseudo query id of camera-offline incidents (their episode key is (camera, this)). */
export const OFFLINE_QUERY = 'camera-offline';

const BACK = new Set(['online', 'degraded']);

export function rowToStatus(r: Record<string, unknown>): StoredCameraStatus {
  const iso = (v: unknown) => new Date(v as string | Date).toISOString();
  const status = (typeof r.status === 'string' ? JSON.parse(r.status) : r.status) as CameraStatus;
  return { camera: String(r.camera), state: r.state as CameraStatus['state'], since: iso(r.since), at: iso(r.at), status };
}

/**
 * Stores the newest status per camera (an older one arriving late is ignored); `since` moves
 * only when the state changes. A camera back online closes its offline incident.
 */
export async function saveCameraStatusTx(tx: SqlRunner, s: CameraStatus): Promise<{ stored: StoredCameraStatus | undefined; closed?: Incident }> {
  await lockEpisode(tx, s.cameraId, OFFLINE_QUERY);
  const at = new Date(s.at);
  const row = (
    await tx.query(
      `INSERT INTO camera_status AS c (camera, state, since, at, status) VALUES ($1, $2, $3, $3, $4)
       ON CONFLICT (camera) DO UPDATE SET state = excluded.state, at = excluded.at, status = excluded.status,
         since = CASE WHEN c.state = excluded.state THEN c.since ELSE excluded.since END
       WHERE c.at <= excluded.at
       RETURNING camera, state, since, at, status`,
      [s.cameraId, s.state, at, JSON.stringify(s)],
    )
  ).rows[0];
  if (row && new Date(row.since as string | Date).getTime() === at.getTime()) {
    // The camera entered this state now: end the previous spell, start this one (uptime charts).
    await tx.query('UPDATE camera_spells SET ended_at = $2 WHERE camera = $1 AND ended_at IS NULL AND started_at < $2', [s.cameraId, at]);
    await tx.query('INSERT INTO camera_spells (camera, state, started_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [s.cameraId, s.state, at]);
  }
  if (!row || !BACK.has(s.state)) return { stored: row && rowToStatus(row) };
  const closed = (
    await tx.query(
      `UPDATE incidents SET ${CLOSE_SET}, ended_at = GREATEST(ended_at, $3)
       WHERE camera = $1 AND query = $2 AND closed_at IS NULL RETURNING ${INCIDENT_COLUMNS}`,
      [s.cameraId, OFFLINE_QUERY, at],
    )
  ).rows[0];
  return { stored: rowToStatus(row), closed: closed && rowToIncident(closed) };
}

/** Incident id of one offline spell: the same on every replica, so opening it is idempotent. */
export function offlineIncidentId(camera: string, since: string): string {
  return createHash('sha256').update(`offline/${camera}/${since}`).digest('hex').slice(0, 32);
}

/** Opens one incident per camera offline for longer than the grace, unless it has one. */
export async function openOfflineTx(
  tx: SqlRunner,
  now: Date,
  graceMs: number,
  policy: (camera: string) => { site?: string; webhooks: string[] },
): Promise<Incident[]> {
  const due = (
    await tx.query(
      `SELECT camera, state, since, at, status FROM camera_status c WHERE state = 'offline' AND since < $1
       AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.camera = c.camera AND i.query = $2 AND (i.closed_at IS NULL OR i.started_at = c.since))`,
      [new Date(now.getTime() - graceMs), OFFLINE_QUERY],
    )
  ).rows.map(rowToStatus);
  const opened: Incident[] = [];
  for (const s of due) {
    const { site, webhooks } = policy(s.camera);
    const id = offlineIncidentId(s.camera, s.since);
    const row = (
      await tx.query(
        `INSERT INTO incidents (id, finding_id, kind, camera, site, query, question, answer, reasoning, severity, started_at, ended_at, model)
         VALUES ($1, $1, 'camera-offline', $2, $3, $4, $5, $6, '', 'high', $7, $8, '')
         ON CONFLICT DO NOTHING RETURNING ${INCIDENT_COLUMNS}`,
        [id, s.camera, site ?? null, OFFLINE_QUERY, `Is camera ${s.camera} delivering video?`, `Offline since ${s.since}: ${s.status.reason || 'no reason given'}`, new Date(s.since), now],
      )
    ).rows[0];
    if (!row) continue;
    await tx.query('INSERT INTO incident_findings (finding_id, incident_id, evidence_done) VALUES ($1, $1, true) ON CONFLICT DO NOTHING', [id]);
    await enqueueDeliveries(tx, id, webhooks, 'camera-offline');
    opened.push(rowToIncident(row));
  }
  return opened;
}
