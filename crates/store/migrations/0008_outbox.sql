-- The transactional outbox: every event is written in the transaction of the change that
-- causes it, one row per member that may see it. `aggregate` (a case token or a
-- partnership id) and its `aggregate_seq` order the events of one case.
CREATE TABLE outbox_events (
    id             TEXT NOT NULL,
    member_id      TEXT NOT NULL REFERENCES members (id),
    event_type     TEXT NOT NULL,
    aggregate      TEXT NOT NULL,
    aggregate_seq  BIGINT NOT NULL,
    data           TEXT NOT NULL,
    occurred_at    BIGINT NOT NULL,
    fanned_out_at  BIGINT,
    PRIMARY KEY (id, member_id),
    UNIQUE (aggregate, aggregate_seq, member_id)
);
CREATE INDEX outbox_events_pending ON outbox_events (fanned_out_at, occurred_at);

-- A member's webhook subscriptions. The signing secret and the optional Authorization
-- header value are sealed under the platform's webhook key.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    member_id       TEXT NOT NULL REFERENCES members (id),
    callback_url    TEXT NOT NULL,
    event_types     TEXT,
    secret          TEXT NOT NULL,
    callback_auth   TEXT,
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX webhooks_member ON webhooks (member_id);

-- One delivery of one event to one target. A node leases a delivery before sending it;
-- a lease that runs out (a crashed node) lets another node send it again, with the same
-- event id. A later delivery of the same aggregate to the same target waits for the
-- earlier ones.
CREATE TABLE deliveries (
    id               TEXT PRIMARY KEY,
    event_id         TEXT NOT NULL,
    member_id        TEXT NOT NULL REFERENCES members (id),
    channel          TEXT NOT NULL,
    target           TEXT NOT NULL,
    aggregate        TEXT NOT NULL,
    aggregate_seq    BIGINT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    leased_by        TEXT,
    last_status_code BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    -- Retries go on until window_start + the retry window; a redelivery restarts it.
    window_start     BIGINT NOT NULL,
    delivered_at     BIGINT,
    UNIQUE (event_id, member_id, channel, target)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_order ON deliveries (target, aggregate, aggregate_seq);
