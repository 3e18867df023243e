-- Collaboration requests (cases), their customer authorization, formal responses and notes.

CREATE TABLE collaboration_requests (
    token                   TEXT PRIMARY KEY,
    submitter_member_id     TEXT NOT NULL REFERENCES members (id),
    submitter_actor_id      TEXT NOT NULL,
    receiver_member_id      TEXT NOT NULL REFERENCES members (id),
    receiver_department_id  TEXT REFERENCES departments (id),
    partnership_id          TEXT NOT NULL REFERENCES partnerships (id),
    document_id             TEXT NOT NULL REFERENCES process_forms (document_id),
    status                  TEXT NOT NULL CHECK (status IN ('OPEN', 'INFORMATION', 'ACCEPTED', 'REJECTED', 'CLOSED')),
    -- Which side must act next ('SUBMITTER', 'RECEIVER' or NULL), kept with the status.
    pending_side            TEXT,
    priority                TEXT NOT NULL CHECK (priority IN ('LOW', 'MEDIUM', 'HIGH')),
    priority_note           TEXT NOT NULL,
    respond_by              BIGINT NOT NULL,
    responded               BIGINT NOT NULL,
    overdue                 BIGINT NOT NULL,
    test_case               BIGINT NOT NULL,
    internal_case_number    TEXT NOT NULL,
    receiver_case_number    TEXT,
    problem_summary         TEXT NOT NULL,
    problem_description     TEXT NOT NULL,
    custom_fields           TEXT NOT NULL,
    submitter_contact       TEXT NOT NULL,
    receiver_engineer       TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    closed_at               BIGINT
);
CREATE INDEX collaboration_requests_submitter ON collaboration_requests (submitter_member_id, updated_at);
CREATE INDEX collaboration_requests_receiver ON collaboration_requests (receiver_member_id, updated_at);
CREATE INDEX collaboration_requests_activity ON collaboration_requests (status, updated_at);

CREATE TABLE customer_authorizations (
    id                   TEXT PRIMARY KEY,
    case_token           TEXT NOT NULL UNIQUE REFERENCES collaboration_requests (token),
    method               TEXT NOT NULL,
    authorized_by_name   TEXT NOT NULL,
    authorized_by_email  TEXT NOT NULL,
    authorized_at        BIGINT NOT NULL,
    purpose              TEXT NOT NULL,
    data_categories      TEXT NOT NULL,
    expires_at           BIGINT,
    evidence             TEXT,
    revoked_at           BIGINT,
    created_at           BIGINT NOT NULL
);

CREATE TABLE case_responses (
    id              TEXT PRIMARY KEY,
    case_token      TEXT NOT NULL REFERENCES collaboration_requests (token),
    response_type   TEXT NOT NULL,
    side            TEXT,
    actor_id        TEXT,
    engineer_name   TEXT,
    engineer_email  TEXT,
    engineer_phone  TEXT,
    case_number     TEXT,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX case_responses_case ON case_responses (case_token, created_at);

CREATE TABLE case_notes (
    id                TEXT PRIMARY KEY,
    case_token        TEXT NOT NULL REFERENCES collaboration_requests (token),
    author_member_id  TEXT REFERENCES members (id),
    author_actor_id   TEXT,
    author_name       TEXT NOT NULL,
    visibility        TEXT NOT NULL CHECK (visibility IN ('SHARED', 'INTERNAL')),
    summary           TEXT NOT NULL,
    description       TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_token, created_at);

-- Results of POST requests sent with an Idempotency-Key, per member.
CREATE TABLE idempotency_keys (
    member_id        TEXT NOT NULL REFERENCES members (id),
    idempotency_key  TEXT NOT NULL,
    request_hash     TEXT NOT NULL,
    status_code      BIGINT,
    response_body    TEXT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (member_id, idempotency_key)
);
