//! The redaction engine: finds personal data and secrets in text and replaces them with
//! stable pseudonyms that keep the structure an engineer needs to solve the problem.
//!
//! Depends on nothing else of Casebridge's: the `casebridge redact` command and, later, the
//! case flow use it the same way.
//!
//! - [`Detectors`] compiles every pattern into one multi-pattern automaton; a candidate is
//!   confirmed by an exact validator (checksum, parser, context) before it becomes a
//!   [`Finding`].
//! - [`Pseudonymizer`] derives every replacement from a secret key, so the same value gets
//!   the same pseudonym in every file and in later runs with the same key, whatever the
//!   order values are met in. IP addresses keep their prefixes, host names their labels.
//! - [`Redactor`] applies a [`Policy`] (per category: pseudonymize, mask, remove, keep) and
//!   records what it replaced in a [`PseudonymMap`], from which [`PseudonymMap::reveal`]
//!   turns a partner's reply back into the real values.

mod allow;
mod archive;
mod category;
mod detect;
mod map;
mod policy;
mod pseudonym;
mod redactor;
mod scan;
mod stream;
mod table;
mod validate;

pub use allow::{AllowError, Allowed, ALLOWED_BYTES, ALLOWED_ENTRIES};
pub use archive::{is_binary, sniff, ArchiveError, ArchiveReport, Archives, Format, Limits};
pub use category::Category;
pub use detect::PatternError;
pub use detect::{Detectors, Finding, Kind};
pub use map::MapError;
pub use map::{reveal, EntryRef, MapBook, MapEntry, PseudonymMap, MAP_VERSION, SPILL_BYTES};
pub use policy::{Action, CustomPattern, Policy, PolicyError};
pub use pseudonym::Pseudonymizer;
pub use redactor::{short_host_names, Lessons, Redacted, Redactor, LEARNED_NAMES};
pub use stream::{
    for_each_chunk, learn_stream, redact_stream, redact_stream_on, redact_stream_with, StreamStats,
    CHUNK_BYTES,
};

/// `bytes` as text, invalid sequences replaced by U+FFFD. The standard library's
/// validation runs a word at a time over ASCII, its lossy conversion a byte at a time, so
/// valid text (nearly every value) is checked by the first and borrowed.
pub(crate) fn text_of(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
