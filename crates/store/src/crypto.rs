//! Encryption at rest: envelope encryption with a data key per case.
//!
//! Each case gets a random 256-bit data key; case content is sealed with it
//! (XChaCha20-Poly1305, random 192-bit nonces) and the data key itself is wrapped by a
//! master key that never enters the database. Associated data binds each ciphertext to its
//! case, the member it belongs to and its place (table, row, column), so a ciphertext
//! copied to another row, case or column fails to open. Destroying a case's data key makes
//! every copy of its content unreadable, backups included.
//!
//! A [`Keyring`] holds one or more master keys: the first wraps new data keys, every one
//! unwraps (each wrapped key records its master key's id), so a new master key can be
//! rolled out, the data keys re-wrapped, and the old one retired without downtime.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::{StoreError, StoreResult};

/// Marks a sealed value in a text column.
const SEALED: &str = "enc1:";

/// One master key and its id (the first 8 bytes of its SHA-256, in hex).
pub struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl MasterKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self {
            id: hex::encode(&Sha256::digest(key)[..8]),
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The master keys the store may use; the first one wraps new data keys.
pub struct Keyring {
    keys: Vec<MasterKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("no master key given")]
    Empty,
    #[error("line {0} of the master key file is not 64 hexadecimal digits")]
    Malformed(usize),
}

impl Keyring {
    pub fn new(keys: Vec<MasterKey>) -> Result<Self, KeyringError> {
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// A keyring from a master key file: one key per line as 64 hex digits, the current
    /// one first; blank lines and `#` comments are ignored.
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        let mut keys = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key: [u8; 32] = hex::decode(line)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or(KeyringError::Malformed(i + 1))?;
            keys.push(MasterKey::from_bytes(key));
        }
        Self::new(keys)
    }

    /// A keyring with one random key: for tests and for commands that touch no content.
    pub fn ephemeral() -> Self {
        Self {
            keys: vec![MasterKey::from_bytes(random_key())],
        }
    }

    /// The id of the key that wraps new data keys.
    pub fn current_id(&self) -> &str {
        self.keys[0].id()
    }

    /// A new data key for a case, and its wrapped form with the wrapping key's id.
    pub(crate) fn new_data_key(&self, token: &str) -> (DataKey, String, String) {
        let key = random_key();
        let wrapped = seal(&self.keys[0].cipher, &case_key_aad(token), &key);
        (
            DataKey(XChaCha20Poly1305::new(&key.into())),
            wrapped,
            self.keys[0].id.clone(),
        )
    }

    /// Unwraps a case's data key with the master key it was wrapped by.
    pub(crate) fn unwrap_key(
        &self,
        token: &str,
        wrapped: &str,
        key_id: &str,
    ) -> StoreResult<DataKey> {
        Ok(DataKey(XChaCha20Poly1305::new(
            &self
                .unwrap_raw(&case_key_aad(token), wrapped, key_id)?
                .into(),
        )))
    }

    /// A new platform secret named `name`, and its wrapped form with the wrapping key's id.
    pub(crate) fn new_platform_key(&self, name: &str) -> ([u8; 32], String, String) {
        let key = random_key();
        let wrapped = seal(&self.keys[0].cipher, &platform_key_aad(name), &key);
        (key, wrapped, self.keys[0].id.clone())
    }

    pub(crate) fn unwrap_platform_key(
        &self,
        name: &str,
        wrapped: &str,
        key_id: &str,
    ) -> StoreResult<[u8; 32]> {
        self.unwrap_raw(&platform_key_aad(name), wrapped, key_id)
    }

    /// Any wrapped key, bound to `aad`, opened with the master key it names.
    fn unwrap_raw(&self, aad: &str, wrapped: &str, key_id: &str) -> StoreResult<[u8; 32]> {
        let master = self.keys.iter().find(|k| k.id == key_id).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "a key is wrapped by master key {key_id}, which is not configured"
            ))
        })?;
        open(&master.cipher, aad, wrapped)?
            .try_into()
            .map_err(|_| StoreError::Corrupt("a wrapped key has the wrong length".into()))
    }

    /// The same key wrapped by the current master key (rotation); `aad` is
    /// [`case_key_aad`] or [`platform_key_aad`].
    pub(crate) fn rewrap(&self, aad: &str, wrapped: &str, key_id: &str) -> StoreResult<String> {
        let key = self.unwrap_raw(aad, wrapped, key_id)?;
        Ok(seal(&self.keys[0].cipher, aad, &key))
    }
}

/// A case's data key, unwrapped.
pub(crate) struct DataKey(XChaCha20Poly1305);

impl DataKey {
    /// A data key from raw bytes (a platform key, unwrapped).
    pub(crate) fn from_bytes(key: &[u8; 32]) -> Self {
        DataKey(XChaCha20Poly1305::new(key.into()))
    }

    /// Seals `text` for the place `aad` names.
    pub(crate) fn seal(&self, aad: &str, text: &str) -> String {
        seal(&self.0, aad, text.as_bytes())
    }

    /// Opens a value sealed for `aad`; fails if it was changed or belongs elsewhere.
    pub(crate) fn open(&self, aad: &str, stored: &str) -> StoreResult<String> {
        String::from_utf8(open(&self.0, aad, stored)?)
            .map_err(|_| StoreError::Corrupt("decrypted content is not UTF-8".into()))
    }
}

fn random_key() -> [u8; 32] {
    XChaCha20Poly1305::generate_key(&mut OsRng).into()
}

pub(crate) fn platform_key_aad(name: &str) -> String {
    format!("casebridge/platform-key/{name}")
}

pub(crate) fn case_key_aad(token: &str) -> String {
    format!("casebridge/case-key/{token}")
}

fn seal(cipher: &XChaCha20Poly1305, aad: &str, plaintext: &[u8]) -> String {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: aad.as_bytes(),
            },
        )
        .expect("XChaCha20-Poly1305 encryption does not fail for in-memory input");
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&ciphertext);
    format!("{SEALED}{}", STANDARD_NO_PAD.encode(sealed))
}

fn open(cipher: &XChaCha20Poly1305, aad: &str, stored: &str) -> StoreResult<Vec<u8>> {
    let corrupt = || StoreError::Corrupt("sealed content does not open (changed or moved)".into());
    let bytes = stored
        .strip_prefix(SEALED)
        .and_then(|b64| STANDARD_NO_PAD.decode(b64).ok())
        .filter(|bytes| bytes.len() > 24)
        .ok_or_else(corrupt)?;
    let (nonce, ciphertext) = bytes.split_at(24);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| corrupt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_content_opens_only_in_its_place() {
        let ring = Keyring::ephemeral();
        let (key, wrapped, id) = ring.new_data_key("cr_a");
        let sealed = key.seal("cr_a/m1/summary", "disk 3 failed");
        assert!(sealed.starts_with(SEALED) && !sealed.contains("disk"));
        assert_eq!(
            key.open("cr_a/m1/summary", &sealed).unwrap(),
            "disk 3 failed"
        );
        assert!(
            key.open("cr_a/m1/description", &sealed).is_err(),
            "moved column"
        );
        assert!(key.open("cr_b/m1/summary", &sealed).is_err(), "moved case");
        let mut tampered = sealed.clone();
        tampered.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert!(key.open("cr_a/m1/summary", &tampered).is_err(), "changed");
        assert!(
            key.open("cr_a/m1/summary", "disk 3 failed").is_err(),
            "plaintext"
        );
        // The wrapped key opens only for its case and with its master key.
        assert!(ring.unwrap_key("cr_b", &wrapped, &id).is_err());
        let again = ring.unwrap_key("cr_a", &wrapped, &id).unwrap();
        assert_eq!(
            again.open("cr_a/m1/summary", &sealed).unwrap(),
            "disk 3 failed"
        );
        assert!(Keyring::ephemeral()
            .unwrap_key("cr_a", &wrapped, &id)
            .is_err());
    }

    #[test]
    fn rotation_rewraps_under_the_new_key_and_the_old_can_go() {
        let old = [1u8; 32];
        let new = [2u8; 32];
        let before = Keyring::new(vec![MasterKey::from_bytes(old)]).unwrap();
        let (key, wrapped, id) = before.new_data_key("cr_a");
        let sealed = key.seal("x", "content");
        let during =
            Keyring::new(vec![MasterKey::from_bytes(new), MasterKey::from_bytes(old)]).unwrap();
        let rewrapped = during.rewrap(&case_key_aad("cr_a"), &wrapped, &id).unwrap();
        let after = Keyring::new(vec![MasterKey::from_bytes(new)]).unwrap();
        let key = after
            .unwrap_key("cr_a", &rewrapped, after.current_id())
            .unwrap();
        assert_eq!(key.open("x", &sealed).unwrap(), "content");
    }

    #[test]
    fn a_master_key_file_is_checked() {
        let good = format!("# current\n{}\n\n{}\n", "ab".repeat(32), "cd".repeat(32));
        assert_eq!(Keyring::parse(&good).unwrap().keys.len(), 2);
        assert!(matches!(
            Keyring::parse("# nothing\n"),
            Err(KeyringError::Empty)
        ));
        assert!(matches!(
            Keyring::parse("abcd\n"),
            Err(KeyringError::Malformed(1))
        ));
    }
}
