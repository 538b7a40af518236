-- Incidents: what operators see and search. One row per positive finding for now;
-- finding_id makes inserts idempotent so a replayed finding never doubles an incident.
CREATE TABLE incidents (
  id          text PRIMARY KEY,
  finding_id  text NOT NULL UNIQUE,
  camera      text NOT NULL,
  site        text,
  query       text NOT NULL,
  question    text NOT NULL,
  answer      text NOT NULL,
  reasoning   text NOT NULL,
  severity    text NOT NULL DEFAULT 'medium',
  state       text NOT NULL DEFAULT 'open',
  started_at  timestamptz NOT NULL,
  ended_at    timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  model       text NOT NULL DEFAULT '',
  latency_ms  integer NOT NULL DEFAULT 0,
  search      tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english', question), 'B') ||
                setweight(to_tsvector('english', answer), 'A') ||
                setweight(to_tsvector('english', reasoning), 'C')) STORED
);
CREATE INDEX incidents_search_idx ON incidents USING gin (search);
CREATE INDEX incidents_started_idx ON incidents (started_at DESC, id DESC);
CREATE INDEX incidents_camera_started_idx ON incidents (camera, started_at DESC, id DESC);
CREATE INDEX incidents_query_started_idx ON incidents (query, started_at DESC, id DESC);
