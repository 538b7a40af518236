-- Operator labels (issue 18): a false positive (an incident) or a missed span of a camera and
-- query, who said so and when. Kept until deleted: they are the seed of a regression suite.
CREATE TABLE labels (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('false_positive', 'missed')),
  camera text NOT NULL,
  query text NOT NULL,
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL CHECK (to_ts >= from_ts),
  incident_id text,
  by_name text NOT NULL,
  note text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX labels_camera_query_from ON labels (camera, query, from_ts);
