-- Roster schema (PostgreSQL). Keep in step with migrations/sqlite: same tables, columns and rules.
-- Timestamps are naive UTC. Ids are 64-bit integers. Enumerations are TEXT with CHECK constraints.

CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE CHECK (email = lower(trim(email)) AND length(email) BETWEEN 3 AND 254),
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    password_hash   TEXT NOT NULL,
    is_staff        BOOLEAN NOT NULL DEFAULT FALSE,
    session_epoch   BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    last_login_at   TIMESTAMP
);

CREATE TABLE workspaces (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 64),
    name            TEXT NOT NULL CHECK (length(trim(name)) > 0),
    plan            TEXT NOT NULL CHECK (plan IN ('free', 'individual', 'professional', 'business')),
    -- Bumped as the first statement of every seat-changing transaction: it takes the row lock on
    -- PostgreSQL and the database write lock on SQLite, so the recount that follows is serialized.
    lock_version    BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE memberships (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at      TIMESTAMP NOT NULL,
    last_active_at  TIMESTAMP,
    monthly_message_cap BIGINT CHECK (monthly_message_cap IS NULL OR monthly_message_cap >= 0),
    monthly_token_cap   BIGINT CHECK (monthly_token_cap IS NULL OR monthly_token_cap >= 0),
    UNIQUE (workspace_id, user_id)
);
-- Exactly one owner per workspace.
CREATE UNIQUE INDEX memberships_one_owner ON memberships (workspace_id) WHERE role = 'owner';
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE projects (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 100),
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE project_members (
    project_id      BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    membership_id   BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    access          TEXT NOT NULL CHECK (access IN ('view', 'edit')),
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, membership_id)
);
CREATE INDEX project_members_membership ON project_members (membership_id);

CREATE TABLE invitations (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email           TEXT NOT NULL CHECK (email = lower(trim(email)) AND length(email) BETWEEN 3 AND 254),
    role            TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked', 'expired')),
    token_hash      TEXT NOT NULL UNIQUE,
    invited_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    last_sent_at    TIMESTAMP NOT NULL,
    send_count      INTEGER NOT NULL DEFAULT 1,
    accepted_at     TIMESTAMP,
    accepted_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    ended_at        TIMESTAMP
);
-- One pending invitation per email per workspace.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (workspace_id, email) WHERE status = 'pending';
CREATE INDEX invitations_workspace ON invitations (workspace_id, status);

CREATE TABLE invitation_projects (
    invitation_id   BIGINT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    project_id      BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    access          TEXT NOT NULL CHECK (access IN ('view', 'edit')),
    PRIMARY KEY (invitation_id, project_id)
);

CREATE TABLE api_keys (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name            TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 100),
    key_prefix      TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    created_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    last_used_at    TIMESTAMP,
    revoked_at      TIMESTAMP
);

CREATE TABLE usage_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    project_id      BIGINT REFERENCES projects (id) ON DELETE SET NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('message', 'agent_run', 'automation')),
    messages        BIGINT NOT NULL CHECK (messages >= 0),
    tokens          BIGINT NOT NULL CHECK (tokens >= 0),
    occurred_at     TIMESTAMP NOT NULL,
    idempotency_key TEXT NOT NULL,
    api_key_id      BIGINT REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);

-- Monthly roll-up per member and project (project NULL = no project), kept in step with
-- usage_events in the same transaction, so usage pages never scan the events.
CREATE TABLE usage_monthly (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    month           DATE NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES users (id),
    project_id      BIGINT REFERENCES projects (id) ON DELETE SET NULL,
    messages        BIGINT NOT NULL DEFAULT 0,
    tokens          BIGINT NOT NULL DEFAULT 0,
    agent_runs      BIGINT NOT NULL DEFAULT 0,
    automations     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX usage_monthly_lookup ON usage_monthly (workspace_id, month, user_id);

-- Daily totals per workspace, for the usage chart.
CREATE TABLE usage_daily (
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    day             DATE NOT NULL,
    messages        BIGINT NOT NULL DEFAULT 0,
    tokens          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, day)
);

CREATE TABLE audit_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT REFERENCES workspaces (id),
    created_at      TIMESTAMP NOT NULL,
    action          TEXT NOT NULL,
    actor_user_id   BIGINT,
    actor_name      TEXT NOT NULL,
    actor_email     TEXT NOT NULL,
    actor_kind      TEXT NOT NULL CHECK (actor_kind IN ('user', 'staff', 'system', 'api')),
    ip              TEXT,
    user_agent      TEXT,
    target_type     TEXT,
    target_id       BIGINT,
    target_label    TEXT,
    target_email    TEXT,
    details         TEXT NOT NULL DEFAULT '{}',
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL
);
CREATE INDEX audit_events_workspace ON audit_events (workspace_id, id);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events rows cannot be %', CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END;
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
-- TRUNCATE bypasses row triggers; refuse it too.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

CREATE TABLE email_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT REFERENCES workspaces (id) ON DELETE CASCADE,
    invitation_id   BIGINT REFERENCES invitations (id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    to_email        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_invitation ON email_outbox (invitation_id);

-- One-time links printed by `roster serve` on a first start; only the SHA-256 is kept.
CREATE TABLE setup_tokens (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMP NOT NULL,
    used_at         TIMESTAMP
);

-- Failed sign-ins, for throttling per email and per IP across instances.
CREATE TABLE login_failures (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT NOT NULL,
    ip              TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, created_at);
CREATE INDEX login_failures_ip ON login_failures (ip, created_at);
