-- An agent's pause has a source (API.md "Agents": pause {source, reason, until};
-- docs/decisions/0033-pause-sources-and-snooze.md). The API's own pause stays in `paused`
-- and `pause_reason`, now with an end (`pause_until`, NULL: until resumed; a past one
-- no longer holds, so no sweeper has to lift it). The pause the agent holds by itself (its
-- owner's `agent pause`, or yielding to the workstation's user) is what the agent last
-- reported, as JSON {source, reason, until}, NULL when none: the agent owns it and resends
-- it on every connection. The scheduler assigns only to agents where neither holds.
ALTER TABLE agents
  ADD COLUMN pause_until DATETIME(3) NULL AFTER pause_reason,
  ADD COLUMN agent_pause VARCHAR(1024) NULL AFTER pause_until;
