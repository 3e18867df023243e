-- Casebridge foundation schema. One schema for SQLite and PostgreSQL: identifiers are
-- UUID text, instants are BIGINT milliseconds since the Unix epoch (UTC), flags are 0/1.

CREATE TABLE members (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE member_domains (
    domain      TEXT PRIMARY KEY,
    member_id   TEXT NOT NULL REFERENCES members (id)
);
CREATE INDEX member_domains_member ON member_domains (member_id);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    member_id      TEXT NOT NULL REFERENCES members (id),
    email          TEXT NOT NULL,
    login_key      TEXT NOT NULL UNIQUE,
    first_name     TEXT NOT NULL,
    last_name      TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'engineer', 'auditor')),
    password_hash  TEXT NOT NULL,
    disabled_at    BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX users_member ON users (member_id);

CREATE TABLE departments (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL REFERENCES members (id),
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    tags         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (member_id, name)
);

CREATE TABLE api_clients (
    id           TEXT PRIMARY KEY,
    member_id    TEXT NOT NULL REFERENCES members (id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'engineer', 'auditor')),
    client_id    TEXT NOT NULL UNIQUE,
    secret_hash  TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX api_clients_member ON api_clients (member_id);

-- Bearer tokens: only the SHA-256 of a token is stored.
CREATE TABLE access_tokens (
    token_hash     TEXT PRIMARY KEY,
    member_id      TEXT NOT NULL REFERENCES members (id),
    user_id        TEXT REFERENCES users (id),
    api_client_id  TEXT REFERENCES api_clients (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    CHECK ((user_id IS NULL) <> (api_client_id IS NULL))
);
CREATE INDEX access_tokens_user ON access_tokens (user_id);
CREATE INDEX access_tokens_api_client ON access_tokens (api_client_id);

CREATE TABLE agreements (
    id            TEXT PRIMARY KEY,
    version       BIGINT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    published_at  BIGINT NOT NULL
);

CREATE TABLE agreement_acceptances (
    agreement_id  TEXT NOT NULL REFERENCES agreements (id),
    member_id     TEXT NOT NULL REFERENCES members (id),
    accepted_by   TEXT NOT NULL REFERENCES users (id),
    accepted_at   BIGINT NOT NULL,
    text_sha256   TEXT NOT NULL,
    PRIMARY KEY (agreement_id, member_id)
);

CREATE TABLE partnerships (
    id                      TEXT PRIMARY KEY,
    proposer_member_id      TEXT NOT NULL REFERENCES members (id),
    proposer_department_id  TEXT REFERENCES departments (id),
    partner_member_id       TEXT NOT NULL REFERENCES members (id),
    partner_department_id   TEXT REFERENCES departments (id),
    kind                    TEXT NOT NULL,
    status                  TEXT NOT NULL CHECK (status IN ('PROPOSED', 'ACTIVE', 'DECLINED', 'ENDED')),
    data_categories         TEXT NOT NULL,
    retention_days          BIGINT NOT NULL,
    onward_sharing_allowed  BIGINT NOT NULL,
    expires_at              BIGINT,
    proposed_by             TEXT NOT NULL,
    proposed_at             BIGINT NOT NULL,
    answered_by             TEXT,
    answered_at             BIGINT,
    ended_by                TEXT,
    ended_at                BIGINT,
    CHECK (proposer_member_id <> partner_member_id)
);
CREATE INDEX partnerships_proposer ON partnerships (proposer_member_id);
CREATE INDEX partnerships_partner ON partnerships (partner_member_id);

-- Process forms: every publication is a new immutable version; scope is 'company' or a
-- department id, so that versions are unique per scope without relying on NULL semantics.
CREATE TABLE process_forms (
    document_id    TEXT PRIMARY KEY,
    member_id      TEXT NOT NULL REFERENCES members (id),
    department_id  TEXT REFERENCES departments (id),
    scope          TEXT NOT NULL,
    version        BIGINT NOT NULL,
    definition     TEXT NOT NULL,
    published_by   TEXT NOT NULL,
    published_at   BIGINT NOT NULL,
    UNIQUE (member_id, scope, version)
);

-- The audit trail: append-only, hash-chained. audit_head holds the last link, so that
-- removing the newest events is detected too, and serialises appenders.
CREATE TABLE audit_events (
    seq          BIGINT PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    occurred_at  BIGINT NOT NULL,
    member_id    TEXT,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT,
    outcome      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_events_member ON audit_events (member_id, seq);

CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
