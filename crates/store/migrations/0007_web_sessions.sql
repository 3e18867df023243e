-- Web sessions are access tokens with an idle timeout: a session ends after
-- idle_timeout_ms without a request, or at expires_at, whichever comes first.
-- API tokens leave both columns NULL.
ALTER TABLE access_tokens ADD COLUMN idle_timeout_ms BIGINT;
ALTER TABLE access_tokens ADD COLUMN last_used_at BIGINT;
