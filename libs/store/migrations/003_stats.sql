-- Hourly model usage per (camera, query), from every finding alerts consumes (positive or
-- not): the model's latency and tokens over time without a row per finding.
CREATE TABLE model_usage (
  hour              timestamptz NOT NULL,
  camera            text NOT NULL,
  query             text NOT NULL,
  findings          integer NOT NULL DEFAULT 0,
  errors            integer NOT NULL DEFAULT 0,
  latency_ms_sum    bigint NOT NULL DEFAULT 0,
  prompt_tokens     bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, camera, query)
);

-- Each camera's states as spells: a new state ends the previous spell. Ingest reports
-- transitions only, so the open spell (ended_at NULL) is the state the camera is in now.
CREATE TABLE camera_spells (
  camera     text NOT NULL,
  state      text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at   timestamptz,
  PRIMARY KEY (camera, started_at)
);
CREATE INDEX camera_spells_ended_idx ON camera_spells (ended_at);
INSERT INTO camera_spells (camera, state, started_at) SELECT camera, state, since FROM camera_status;
