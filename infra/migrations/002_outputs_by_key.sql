-- A job may name another job's output as an input; the API looks the key up to check
-- who owns it, so outputs need an index by key.
CREATE INDEX outputs_object_key ON job_outputs (object_key);
