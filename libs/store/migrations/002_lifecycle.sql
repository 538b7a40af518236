-- Incident lifecycle (episodes with cooldown, operator actions), evidence, camera status and
-- the webhook outbox. Plain PostgreSQL: runs unchanged on a server and on embedded PGlite.
ALTER TABLE incidents
  ADD COLUMN kind text NOT NULL DEFAULT 'finding',
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN closed_at timestamptz,
  ADD COLUMN close_after timestamptz,
  ADD COLUMN finding_count integer NOT NULL DEFAULT 1,
  ADD COLUMN ack_by text,
  ADD COLUMN ack_at timestamptz,
  ADD COLUMN ack_note text,
  ADD COLUMN resolved_by text,
  ADD COLUMN resolved_at timestamptz,
  ADD COLUMN resolve_note text,
  ADD COLUMN evidence jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN evidence_bytes bigint NOT NULL DEFAULT 0,
  ADD COLUMN evidence_deleted_at timestamptz;

-- Incidents from before episodes existed are finished ones.
UPDATE incidents SET closed_at = ended_at, state = CASE WHEN state = 'open' THEN 'closed' ELSE state END;

-- Every finding folded into an incident, so a replay of any of them is recognised, and
-- whether its evidence is stored yet (a crash between the two writes is finished on replay).
CREATE TABLE incident_findings (
  finding_id    text PRIMARY KEY,
  incident_id   text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  evidence_done boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO incident_findings (finding_id, incident_id, evidence_done) SELECT finding_id, id, true FROM incidents;

-- At most one active incident per (camera, query) episode, whatever several replicas do.
CREATE UNIQUE INDEX incidents_active_episode_idx ON incidents (camera, query) WHERE closed_at IS NULL;
CREATE INDEX incidents_close_after_idx ON incidents (close_after) WHERE closed_at IS NULL;
CREATE INDEX incidents_site_started_idx ON incidents (site, started_at DESC, id DESC);
-- max(ended_at - started_at) bounds how far before `from` an overlapping incident can start.
CREATE INDEX incidents_span_idx ON incidents ((ended_at - started_at));
CREATE INDEX incidents_evidence_idx ON incidents (started_at) WHERE evidence_bytes > 0;

-- The latest status of each camera (from vigil.camera-status); `since` is when it entered `state`.
CREATE TABLE camera_status (
  camera text PRIMARY KEY,
  state  text NOT NULL,
  since  timestamptz NOT NULL,
  at     timestamptz NOT NULL,
  status jsonb NOT NULL
);

-- Webhook outbox: enqueued in the transaction that changes the incident, sent after it.
CREATE TABLE webhook_deliveries (
  id           bigserial PRIMARY KEY,
  incident_id  text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  webhook      text NOT NULL,
  event        text NOT NULL,
  ref          text NOT NULL DEFAULT '',
  status       text NOT NULL DEFAULT 'pending',
  attempts     integer NOT NULL DEFAULT 0,
  next_at      timestamptz NOT NULL DEFAULT now(),
  last_error   text,
  delivered_at timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (incident_id, webhook, event, ref)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_incident_idx ON webhook_deliveries (incident_id);
