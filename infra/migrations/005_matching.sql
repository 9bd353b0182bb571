-- Matching by capacity (docs/decisions/0015-fair-share.md).
-- jobs.priority orders one owner's own jobs; jobs.req_class names the job's requirements
-- (a digest of the JSON), so the scheduler can ask which kinds of job wait, decide once per
-- kind whether a free agent could run it, and read only jobs some free agent can run: a
-- pile of unrunnable jobs costs one index entry each, never a walk.
ALTER TABLE jobs
  ADD COLUMN priority INT NOT NULL DEFAULT 0,
  ADD COLUMN req_class CHAR(64) AS (SHA2(COALESCE(JSON_EXTRACT(spec, '$.requirements'), '{}'), 256)) STORED,
  ADD KEY jobs_pending_class (state, req_class, owner, priority, created_at);

-- The GPUs an attempt holds while it is ASSIGNED or RUNNING ([{index, uuid?}]). A GPU is
-- free when no active attempt of its agent names it, so every way an attempt ends (finish,
-- lease expiry, cancel, requeue) releases its GPUs with the state change itself; the row
-- keeps them afterwards for usage accounting.
ALTER TABLE attempts
  ADD COLUMN gpus VARCHAR(2048) NOT NULL DEFAULT '[]' COMMENT 'JSON array of {index, uuid?}';

-- Fair share between owners: the owner whose most recent assignment is oldest goes first
-- (an owner missing here was never assigned, and goes before every owner listed).
CREATE TABLE owner_usage (
  owner            VARCHAR(64) NOT NULL PRIMARY KEY,
  last_assigned_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
