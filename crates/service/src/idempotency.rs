//! Idempotent POSTs: a retry with the same `Idempotency-Key` and body gets the first
//! answer again instead of a second case or note.

use sha2::{Digest, Sha256};

use crate::{Caller, ServiceError, ServiceResult, Services};

/// What to do with a request that carries an idempotency key.
#[derive(Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First time: run it, then [`Services::finish_idempotent`].
    Fresh,
    /// Seen and finished: answer this again.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;

impl Services {
    pub async fn start_idempotent(
        &self,
        caller: &Caller,
        key: &str,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> ServiceResult<IdempotencyStart> {
        if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ServiceError::Validation(
                casebridge_domain::ValidationErrors::single(
                    "Idempotency-Key",
                    "must be 1 to 255 visible ASCII characters",
                ),
            ));
        }
        let mut hasher = Sha256::new();
        for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
            hasher.update(part);
        }
        let request_hash = hex::encode(hasher.finalize());
        let seen = self
            .store
            .reserve_idempotency_key(caller.member(), key, &request_hash)
            .await?;
        Ok(match seen {
            None => IdempotencyStart::Fresh,
            Some(outcome) if outcome.request_hash != request_hash => IdempotencyStart::Mismatch,
            Some(outcome) => match outcome.response {
                Some((status, body)) => IdempotencyStart::Replay { status, body },
                None => IdempotencyStart::InProgress,
            },
        })
    }

    /// Stores a successful answer for replay, or frees the key after a failure so that a
    /// corrected retry can run.
    pub async fn finish_idempotent(
        &self,
        caller: &Caller,
        key: &str,
        outcome: Option<(u16, &str)>,
    ) -> ServiceResult<()> {
        match outcome {
            Some((status, body)) => {
                self.store
                    .complete_idempotency_key(caller.member(), key, status, body)
                    .await?
            }
            None => {
                self.store
                    .release_idempotency_key(caller.member(), key)
                    .await?
            }
        }
        Ok(())
    }
}
