-- Links replaced by a resend or "copy link": kept (hashed) so that an old link gets "replaced by a
-- newer one" (410) instead of "not valid" (404).
CREATE TABLE invitation_retired_tokens (
    token_hash      TEXT PRIMARY KEY,
    invitation_id   BIGINT NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    retired_at      TIMESTAMP NOT NULL
);
CREATE INDEX invitation_retired_tokens_invitation ON invitation_retired_tokens (invitation_id);
