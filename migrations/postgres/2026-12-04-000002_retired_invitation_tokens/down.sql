DROP TABLE invitation_retired_tokens;
