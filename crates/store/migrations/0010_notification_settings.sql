-- Who else hears of a member's requests: a copy of every new inbound request and of every
-- response to its outbound ones (e.g. a shared support mailbox or a CRM's inbound address).
ALTER TABLE members ADD COLUMN inbound_bcc TEXT;
ALTER TABLE members ADD COLUMN outbound_bcc TEXT;
-- A person may turn off the emails they can do without (a partner's notes).
ALTER TABLE users ADD COLUMN note_emails INTEGER NOT NULL DEFAULT 1;
