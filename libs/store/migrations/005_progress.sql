-- Episodes close on capture time. infer reports, per (camera, query), the capture time through
-- which every window is decided (asked and published, skipped or superseded); an episode
-- closes once that passes its close_after by one window (window_ms: a window starting before
-- close_after may still be positive). updated_at (wall clock) tells a stream that stopped
-- reporting, for the wall-clock fallback.
CREATE TABLE episode_progress (
  camera text NOT NULL,
  query text NOT NULL,
  through timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (camera, query)
);
ALTER TABLE incidents ADD COLUMN window_ms integer NOT NULL DEFAULT 0;
