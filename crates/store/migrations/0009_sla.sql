-- The response clock: when it started (creation, or the customer's authorization for a
-- case that waited for it), and the two reminders before the target — at half the
-- window and shortly before the end — each sent once.
ALTER TABLE collaboration_requests ADD COLUMN clock_started_at BIGINT;
ALTER TABLE collaboration_requests ADD COLUMN remind_half_at BIGINT;
ALTER TABLE collaboration_requests ADD COLUMN remind_due_at BIGINT;
ALTER TABLE collaboration_requests ADD COLUMN reminded_half INTEGER NOT NULL DEFAULT 0;
ALTER TABLE collaboration_requests ADD COLUMN reminded_due INTEGER NOT NULL DEFAULT 0;
CREATE INDEX collaboration_requests_reminders ON collaboration_requests (responded, remind_half_at, remind_due_at);
