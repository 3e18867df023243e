-- Encryption at rest: one data key per case, wrapped by a master key kept outside the
-- database. Destroying a case's key (wrapped_key NULL) makes its content unreadable.

CREATE TABLE case_keys (
    case_token    TEXT PRIMARY KEY REFERENCES collaboration_requests (token),
    wrapped_key   TEXT,
    -- The id of the master key that wrapped it.
    key_id        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    destroyed_at  BIGINT
);
