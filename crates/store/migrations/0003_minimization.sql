-- Minimization: each member's pseudonym key per partnership, and each member's vault of
-- what the pseudonyms in a case's partner-visible text stand for.

CREATE TABLE pseudonym_keys (
    member_id       TEXT NOT NULL REFERENCES members (id),
    partnership_id  TEXT NOT NULL REFERENCES partnerships (id),
    -- Hex of 32 random bytes.
    pseudonym_key   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (member_id, partnership_id)
);

CREATE TABLE case_vault (
    case_token      TEXT NOT NULL REFERENCES collaboration_requests (token),
    -- The member that wrote the value; only it reads `original` unless the fate shows it.
    member_id       TEXT NOT NULL REFERENCES members (id),
    pseudonym       TEXT NOT NULL,
    original        TEXT NOT NULL,
    category        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    fate            TEXT NOT NULL CHECK (fate IN ('SHARED', 'PSEUDONYMIZED', 'RELEASED')),
    release_reason  TEXT,
    released_at     BIGINT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (case_token, member_id, pseudonym)
);
