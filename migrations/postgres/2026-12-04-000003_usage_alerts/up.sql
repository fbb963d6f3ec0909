-- One row per usage alert sent: a workspace passing 80 % or 100 % of its monthly allowance emails
-- its owner once per threshold per month.
CREATE TABLE usage_alerts (
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    month           DATE NOT NULL,
    threshold       INTEGER NOT NULL CHECK (threshold IN (80, 100)),
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, month, threshold)
);
