-- Shadow queries (`shadow:` in the config): their would-be incidents are episodes like any
-- other, kept in the same table so the same rules (cooldown, confirm, clear_after, progress)
-- apply, but marked: every read that operators, webhooks, MQTT or stats see leaves them out.
ALTER TABLE incidents ADD COLUMN shadow boolean NOT NULL DEFAULT false;
CREATE INDEX incidents_shadow_idx ON incidents (query, started_at) WHERE shadow;
