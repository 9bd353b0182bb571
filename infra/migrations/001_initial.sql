-- LabBridge schema v1. MySQL is the system of record for jobs, attempts and agents;
-- Redis holds only hot, expiring state (leases, presence). Times are UTC, millisecond precision.

CREATE TABLE jobs (
  id                  VARCHAR(40)  NOT NULL PRIMARY KEY,
  owner               VARCHAR(64)  NOT NULL,
  name                VARCHAR(200) NULL,
  state               ENUM('PENDING','ASSIGNED','RUNNING','SUCCEEDED','FAILED','CANCELED') NOT NULL,
  spec                LONGTEXT     NOT NULL COMMENT 'JSON: command, env, inputs, requirements',
  timeout_seconds     INT          NOT NULL,
  max_attempts        INT          NOT NULL,
  attempts_started    INT          NOT NULL DEFAULT 0,
  current_attempt_id  VARCHAR(40)  NULL,
  cancel_requested_at DATETIME(3)  NULL,
  created_at          DATETIME(3)  NOT NULL,
  updated_at          DATETIME(3)  NOT NULL,
  KEY jobs_state_created (state, created_at),
  KEY jobs_owner_created (owner, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE attempts (
  id            VARCHAR(40)  NOT NULL PRIMARY KEY,
  job_id        VARCHAR(40)  NOT NULL,
  number        INT          NOT NULL,
  agent_id      VARCHAR(40)  NOT NULL,
  state         ENUM('ASSIGNED','RUNNING','SUCCEEDED','FAILED','CANCELED','EXPIRED') NOT NULL,
  assigned_at   DATETIME(3)  NOT NULL,
  started_at    DATETIME(3)  NULL,
  finished_at   DATETIME(3)  NULL,
  exit_code     INT          NULL,
  error_code    VARCHAR(64)  NULL,
  error_message VARCHAR(2048) NULL,
  UNIQUE KEY attempts_job_number (job_id, number),
  KEY attempts_agent_state (agent_id, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE job_state_history (
  id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_id     VARCHAR(40)  NOT NULL,
  attempt_id VARCHAR(40)  NULL,
  state      VARCHAR(16)  NOT NULL,
  cause      VARCHAR(64)  NOT NULL,
  at         DATETIME(3)  NOT NULL,
  KEY history_job (job_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE job_outputs (
  attempt_id VARCHAR(40)  NOT NULL,
  path       VARCHAR(512) NOT NULL,
  job_id     VARCHAR(40)  NOT NULL,
  object_key VARCHAR(700) NOT NULL,
  size       BIGINT       NOT NULL,
  sha256     CHAR(64)     NOT NULL,
  PRIMARY KEY (attempt_id, path),
  KEY outputs_job (job_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE agents (
  id               VARCHAR(40)  NOT NULL PRIMARY KEY,
  name             VARCHAR(128) NOT NULL,
  hostname         VARCHAR(256) NOT NULL DEFAULT '',
  os               VARCHAR(32)  NOT NULL DEFAULT '',
  labels           TEXT         NOT NULL COMMENT 'JSON object of strings',
  gpus             TEXT         NOT NULL COMMENT 'JSON array from nvidia-smi',
  slots            INT          NOT NULL DEFAULT 1,
  status           ENUM('ONLINE','OFFLINE') NOT NULL DEFAULT 'OFFLINE',
  paused           TINYINT(1)   NOT NULL DEFAULT 0,
  pause_reason     VARCHAR(512) NULL,
  gateway_id       VARCHAR(64)  NULL,
  session_id       VARCHAR(40)  NULL,
  connected_since  DATETIME(3)  NULL,
  last_seen_at     DATETIME(3)  NULL,
  last_assigned_at DATETIME(3)  NULL,
  created_at       DATETIME(3)  NOT NULL,
  revoked_at       DATETIME(3)  NULL,
  KEY agents_status (status, paused)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE agent_credentials (
  id          VARCHAR(40) NOT NULL PRIMARY KEY,
  agent_id    VARCHAR(40) NOT NULL,
  secret_hash CHAR(64)    NOT NULL COMMENT 'sha256 hex of the credential; the credential itself is never stored',
  created_at  DATETIME(3) NOT NULL,
  revoked_at  DATETIME(3) NULL,
  UNIQUE KEY credentials_hash (secret_hash),
  KEY credentials_agent (agent_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE enrollment_tokens (
  id         VARCHAR(40) NOT NULL PRIMARY KEY,
  token_hash CHAR(64)    NOT NULL,
  labels     TEXT        NOT NULL,
  created_by VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  expires_at DATETIME(3) NOT NULL,
  used_at    DATETIME(3) NULL,
  agent_id   VARCHAR(40) NULL,
  UNIQUE KEY enrollment_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE api_tokens (
  id         VARCHAR(40) NOT NULL PRIMARY KEY,
  token_hash CHAR(64)    NOT NULL,
  owner      VARCHAR(64) NOT NULL,
  role       ENUM('admin','user') NOT NULL,
  created_at DATETIME(3) NOT NULL,
  revoked_at DATETIME(3) NULL,
  UNIQUE KEY api_tokens_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE idempotency_keys (
  owner        VARCHAR(64)  NOT NULL,
  idem_key     VARCHAR(255) NOT NULL,
  request_hash CHAR(64)     NOT NULL,
  job_id       VARCHAR(40)  NOT NULL,
  created_at   DATETIME(3)  NOT NULL,
  PRIMARY KEY (owner, idem_key),
  KEY idempotency_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE uploads (
  id         VARCHAR(40)  NOT NULL PRIMARY KEY,
  owner      VARCHAR(64)  NOT NULL,
  object_key VARCHAR(700) NOT NULL,
  name       VARCHAR(255) NOT NULL,
  size       BIGINT       NOT NULL,
  sha256     CHAR(64)     NULL,
  created_at DATETIME(3)  NOT NULL,
  UNIQUE KEY uploads_key (object_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
