-- API tokens get a name, an expiry and their maker (POST /v1/api-tokens); lists of tokens,
-- audit rows and usage get the indexes their filters need.
-- A token made before this migration has no expiry (expires_at NULL) and keeps working.
ALTER TABLE api_tokens
  ADD COLUMN name       VARCHAR(128) NOT NULL DEFAULT '' COMMENT 'what the holder calls it, e.g. laptop',
  ADD COLUMN expires_at DATETIME(3)  NULL COMMENT 'refused from then on; NULL only for tokens made before migration 006',
  ADD COLUMN created_by VARCHAR(64)  NULL COMMENT 'owner of the admin token that minted it',
  ADD KEY api_tokens_owner (owner, id);

-- The owner "admin" belongs to LB_ADMIN_TOKEN alone: a user token minted for it would see
-- and cancel every job the admin submitted (issue 9). Any such token is revoked here, and
-- the revocation is on the audit trail like any other.
INSERT INTO audit_log (at, actor, role, action, target_type, target_id, result, request_id, details)
  SELECT UTC_TIMESTAMP(3), 'migration 006', 'admin', 'api_token.revoked', 'api_token', id, 'ok', NULL,
         JSON_OBJECT('owner', owner, 'role', role, 'reason', 'owner "admin" is reserved for LB_ADMIN_TOKEN')
  FROM api_tokens WHERE LOWER(owner) = 'admin' AND revoked_at IS NULL;
UPDATE api_tokens SET revoked_at = UTC_TIMESTAMP(3) WHERE LOWER(owner) = 'admin' AND revoked_at IS NULL;

-- GET /v1/audit filters by action or actor, newest first.
ALTER TABLE audit_log
  ADD KEY audit_action (action, id),
  ADD KEY audit_actor (actor, id);

-- GET /v1/jobs?name_prefix= (a range on name) and GET /v1/usage (attempts that started
-- before the end of the range; finished_at is read from the row).
ALTER TABLE jobs ADD KEY jobs_name (name, created_at);
ALTER TABLE attempts ADD KEY attempts_started (started_at);
