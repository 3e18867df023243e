//! The owner's private map from pseudonyms back to original values, and its key.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

use crate::Category;

/// What one pseudonym stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEntry {
    pub original: String,
    pub category: Category,
    pub kind: String,
}

/// The key pseudonyms are derived from and every pseudonym issued with it. Kept only by
/// the owner of the data (`--map`): with it, later runs reuse the same pseudonyms and
/// `--reveal` restores a partner's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PseudonymMap {
    pub version: u32,
    /// Hex of the 32-byte key.
    pub key: String,
    pub entries: BTreeMap<String, MapEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("the map file is not a Casebridge pseudonym map: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("the map file's key is not 32 bytes of hex")]
    Key,
}

impl PseudonymMap {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            version: 1,
            key: hex::encode(key),
            entries: BTreeMap::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, MapError> {
        let map: Self = serde_json::from_str(text)?;
        map.key_bytes()?;
        Ok(map)
    }

    pub fn key_bytes(&self) -> Result<[u8; 32], MapError> {
        hex::decode(&self.key)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(MapError::Key)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Replaces every pseudonym in `text` with its original value.
    pub fn reveal(&self, text: &[u8]) -> (Vec<u8>, usize) {
        if self.entries.is_empty() {
            return (text.to_vec(), 0);
        }
        let pseudonyms: Vec<&str> = self.entries.keys().map(String::as_str).collect();
        let Ok(automaton) = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&pseudonyms)
        else {
            return (text.to_vec(), 0);
        };
        let mut out = Vec::with_capacity(text.len());
        let mut count = 0;
        automaton.replace_all_with_bytes(text, &mut out, |m, _, dst| {
            count += 1;
            dst.extend_from_slice(
                self.entries[pseudonyms[m.pattern().as_usize()]]
                    .original
                    .as_bytes(),
            );
            true
        });
        (out, count)
    }
}
