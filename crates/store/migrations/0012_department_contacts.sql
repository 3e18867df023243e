-- Who hears of a new request addressed to a department (JSON array of addresses); when
-- empty, the member's admins and managers do.
ALTER TABLE departments ADD COLUMN notification_emails TEXT NOT NULL DEFAULT '[]';
