-- The window audit: every window a standing query decided. Asked windows (one row per finding,
-- positive or not, without evidence frames) live in daily partitions by window start, so
-- retention drops whole partitions instead of deleting rows; the partitions are created as
-- windows arrive (audit.ts). The primary key holds the partition key, as PostgreSQL requires;
-- the finding id is deterministic from (camera, query, window start), so a replay conflicts.
CREATE TABLE audit_windows (
  id text NOT NULL,
  camera text NOT NULL,
  query text NOT NULL,
  query_version text,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  status text NOT NULL,
  verdict boolean NOT NULL,
  answer text NOT NULL,
  reasoning text NOT NULL,
  error text,
  latency_ms integer NOT NULL,
  prompt_tokens integer NOT NULL,
  completion_tokens integer NOT NULL,
  frames integer NOT NULL,
  model text NOT NULL,
  PRIMARY KEY (window_start, id)
) PARTITION BY RANGE (window_start);
CREATE INDEX audit_windows_by_query ON audit_windows (camera, query, window_start, id);
-- Full text over answer and reasoning: an expression index, so rows carry no tsvector.
CREATE INDEX audit_windows_search ON audit_windows USING gin (to_tsvector('english', answer || ' ' || reasoning));
-- Windows not asked, as runs: consecutive grid windows (every_ms apart, no gap) of one
-- (camera, query) skipped for one reason. A run that continues or overlaps a stored one is
-- merged into it, so a long skip (a schedule's night) is one row.
CREATE TABLE audit_skips (
  id bigserial PRIMARY KEY,
  camera text NOT NULL,
  query text NOT NULL,
  reason text NOT NULL,
  every_ms integer NOT NULL,
  first_start timestamptz NOT NULL,
  last_start timestamptz NOT NULL,
  last_end timestamptz NOT NULL,
  windows integer NOT NULL
);
CREATE INDEX audit_skips_by_query ON audit_skips (camera, query, first_start);
CREATE INDEX audit_skips_by_start ON audit_skips (first_start);
