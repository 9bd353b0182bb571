-- The audit trail: one row for every privileged or security-relevant act (API.md, GET
-- /v1/audit), such as a refused agent credential or a second session with a credential
-- already in use. Rows are only ever inserted: the triggers refuse any UPDATE or DELETE,
-- so the trail cannot be edited by a bug (or a caller) that holds the services' account.
CREATE TABLE audit_log (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at          DATETIME(3)  NOT NULL,
  actor       VARCHAR(128) NOT NULL COMMENT 'owner name, agent id, or "unknown"',
  role        VARCHAR(16)  NOT NULL COMMENT 'admin, user, agent or anonymous',
  action      VARCHAR(64)  NOT NULL COMMENT 'e.g. agent.session_refused, agent.credential_refused',
  target_type VARCHAR(32)  NOT NULL,
  target_id   VARCHAR(128) NULL,
  result      VARCHAR(32)  NOT NULL COMMENT 'e.g. ok, refused, revoked, unknown',
  request_id  VARCHAR(64)  NULL COMMENT 'request or session id the act came with',
  details     JSON         NOT NULL COMMENT 'JSON object; never a token or a URL signature',
  KEY audit_at (at, id),
  KEY audit_target (target_type, target_id, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log rows are never updated';

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log rows are never deleted';
