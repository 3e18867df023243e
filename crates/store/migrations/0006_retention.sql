-- Retention: a member's legal hold keeps a case's content past its retention period.

CREATE TABLE legal_holds (
    case_token  TEXT NOT NULL REFERENCES collaboration_requests (token),
    member_id   TEXT NOT NULL REFERENCES members (id),
    placed_at   BIGINT NOT NULL,
    PRIMARY KEY (case_token, member_id)
);

-- Secrets of the platform itself (the subject index key), wrapped like case keys.
CREATE TABLE platform_keys (
    name         TEXT PRIMARY KEY,
    wrapped_key  TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- A keyed blind index of the people a case names (the customer's email, email fields):
-- finds a data subject's cases without decrypting anything, and reveals no address.
CREATE TABLE subject_index (
    case_token  TEXT NOT NULL REFERENCES collaboration_requests (token),
    blind       TEXT NOT NULL,
    PRIMARY KEY (case_token, blind)
);
CREATE INDEX subject_index_blind ON subject_index (blind);
