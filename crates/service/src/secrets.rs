//! Generating, hashing and checking secrets: tokens, client secrets and passwords.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{ServiceError, ServiceResult};

/// Greppable prefixes, so a leaked credential is recognisable by secret scanners.
pub const ACCESS_TOKEN_PREFIX: &str = "cb_at_";
pub const CLIENT_ID_PREFIX: &str = "cb_ci_";
pub const CLIENT_SECRET_PREFIX: &str = "cb_cs_";
/// Web sessions (the browser's cookie); never accepted as a bearer token, and a bearer
/// token is never accepted as a session.
pub const SESSION_PREFIX: &str = "cb_ws_";

/// `prefix` followed by `bytes` random bytes from the OS, base64url.
pub fn random_secret(prefix: &str, bytes: usize) -> SecretString {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    SecretString::from(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(buf)))
}

/// The stored form of a high-entropy secret (token, client secret): hex SHA-256.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Argon2id with the library defaults, which are OWASP's minimum (m=19 MiB, t=2, p=1).
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

/// Hashes a password off the async runtime.
pub async fn hash_password(password: SecretString) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
}

/// A hash of a random password, checked when the account does not exist so that the
/// answer takes as long as for a real account.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    let random = random_secret("", 32);
    argon2()
        .hash_password(random.expose_secret().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// Checks `password` against `stored` (or the dummy hash when there is no account).
pub async fn verify_password(password: SecretString, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        PasswordHash::new(&stored).is_ok_and(|hash| {
            argon2()
                .verify_password(password.expose_secret().as_bytes(), &hash)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_unique() {
        let a = random_secret(ACCESS_TOKEN_PREFIX, 32);
        let b = random_secret(ACCESS_TOKEN_PREFIX, 32);
        assert!(a.expose_secret().starts_with("cb_at_"));
        assert_eq!(a.expose_secret().len(), 6 + 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let hash = hash_password(SecretString::from("a long enough passphrase"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password(
                SecretString::from("a long enough passphrase"),
                Some(hash.clone())
            )
            .await
        );
        assert!(!verify_password(SecretString::from("another passphrase"), Some(hash)).await);
        assert!(!verify_password(SecretString::from("anything"), None).await);
    }
}
