DROP TRIGGER audit_events_no_delete ON audit_events;
DROP FUNCTION audit_events_guard_delete();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
DROP TABLE audit_retention;
