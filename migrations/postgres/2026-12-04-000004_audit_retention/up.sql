-- Audit retention: `roster audit prune` records a cutoff here first; the delete trigger then lets
-- through only rows of that workspace below the cutoff. UPDATE stays refused always.
CREATE TABLE audit_retention (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT REFERENCES workspaces (id),
    -- Rows with a smaller id may be deleted; the row with this id is the first kept.
    cutoff_id       BIGINT NOT NULL,
    -- The prev_hash of the first kept row, so the chain verifies from there.
    anchor_hash     TEXT NOT NULL,
    cutoff_at       TIMESTAMP NOT NULL,
    recorded_at     TIMESTAMP NOT NULL
);
CREATE INDEX audit_retention_workspace ON audit_retention (workspace_id, cutoff_id);

CREATE FUNCTION audit_events_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM audit_retention r
        WHERE r.workspace_id IS NOT DISTINCT FROM OLD.workspace_id AND OLD.id < r.cutoff_id
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events rows cannot be deleted';
END;
$$;
DROP TRIGGER audit_events_no_delete ON audit_events;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_guard_delete();
