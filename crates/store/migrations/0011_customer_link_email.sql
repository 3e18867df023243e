-- A delivery written out in full when it is created (the customer's authorization link,
-- which exists nowhere else): sealed under the platform's webhook key.
ALTER TABLE deliveries ADD COLUMN payload TEXT;
