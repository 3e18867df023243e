-- Customer authorization by link: a case waits, invisible to the receiver, until the
-- customer decides on a single-purpose link; the decision and its signed receipt are kept.

ALTER TABLE collaboration_requests ADD COLUMN awaiting_customer BIGINT NOT NULL DEFAULT 0;

CREATE TABLE authorization_links (
    case_token       TEXT PRIMARY KEY REFERENCES collaboration_requests (token),
    -- SHA-256 of the link's secret; the secret itself is only in the URL.
    link_hash        TEXT NOT NULL UNIQUE,
    state            TEXT NOT NULL CHECK (state IN ('PENDING', 'AUTHORIZED', 'DECLINED')),
    expires_at       BIGINT NOT NULL,
    decided_at       BIGINT,
    approver_ip      TEXT,
    -- The exact text the customer was shown when deciding, and its SHA-256.
    shown_text       TEXT,
    shown_text_hash  TEXT,
    -- The signed consent receipt (compact JWS).
    receipt          TEXT,
    created_at       BIGINT NOT NULL
);
