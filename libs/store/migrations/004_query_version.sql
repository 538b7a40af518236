-- The version of the standing query (a hash of what was asked) behind each incident: the
-- version of the finding that opened it, or of the latest finding in the episode if the
-- query changed meanwhile. NULL for offline incidents and findings from older producers.
ALTER TABLE incidents ADD COLUMN query_version text;
