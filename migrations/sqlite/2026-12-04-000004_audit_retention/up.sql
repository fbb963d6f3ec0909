-- Audit retention: `roster audit prune` records a cutoff here first; the delete trigger then lets
-- through only rows of that workspace below the cutoff. UPDATE stays refused always.
CREATE TABLE audit_retention (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    BIGINT REFERENCES workspaces (id),
    -- Rows with a smaller id may be deleted; the row with this id is the first kept.
    cutoff_id       BIGINT NOT NULL,
    -- The prev_hash of the first kept row, so the chain verifies from there.
    anchor_hash     TEXT NOT NULL,
    cutoff_at       TIMESTAMP NOT NULL,
    recorded_at     TIMESTAMP NOT NULL
);
CREATE INDEX audit_retention_workspace ON audit_retention (workspace_id, cutoff_id);

DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (
    SELECT 1 FROM audit_retention r
    WHERE r.workspace_id IS OLD.workspace_id AND OLD.id < r.cutoff_id
)
BEGIN
    SELECT RAISE(ABORT, 'audit_events rows cannot be deleted');
END;
