-- N-of-M confirmation (a query's `confirm`) and `clear_after`: every answered window of such a
-- query is kept for a day, so "need of the last of windows" and "n negative windows in a row"
-- are decided on capture time, by any replica, across restarts.
CREATE TABLE query_windows (
  finding_id text PRIMARY KEY,
  camera text NOT NULL,
  query text NOT NULL,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  verdict boolean NOT NULL
);
CREATE INDEX query_windows_by_end ON query_windows (camera, query, window_end);
-- The windows whose positive answers opened an incident (empty: the first positive alone).
ALTER TABLE incidents ADD COLUMN confirmed_by text[] NOT NULL DEFAULT '{}';
