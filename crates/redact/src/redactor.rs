//! Applying the policy: findings in, rewritten text and a growing pseudonym map out.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::detect::{Detectors, Finding, Kind, PatternError};
use crate::map::{MapBook, MapEntry, MapError, PseudonymMap};
use crate::{Action, Category, Policy, Pseudonymizer};

/// A text after redaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Redacted {
    pub text: Vec<u8>,
    pub findings: Vec<Finding>,
}

/// How many values the pseudonym cache remembers before it starts over. Pseudonyms are
/// derived from the key, so forgetting one costs a derivation, never consistency.
const CACHE_ENTRIES: usize = 100_000;

/// The pseudonyms issued so far, both ways: the book for the owner's map, and a bounded
/// cache so that a value met again costs a lookup instead of a derivation.
struct Issued {
    book: MapBook,
    by_value: HashMap<Kind, HashMap<Vec<u8>, String>>,
    cached: usize,
    /// The first failure to record a pseudonym (a full disk while spilling the map).
    failure: Option<MapError>,
}

/// Detectors, policy and pseudonymizer together; shareable between threads.
pub struct Redactor {
    detectors: Detectors,
    policy: Policy,
    pseudonymizer: Pseudonymizer,
    map: Mutex<Issued>,
    /// Short host names learned from full names seen anywhere in the input (`web01` from
    /// `web01.acme.com`), replaced wherever they stand alone.
    learned: Option<(AhoCorasick, Vec<String>)>,
}

impl Redactor {
    pub fn new(policy: Policy, map: PseudonymMap) -> Result<Self, PatternError> {
        let book = MapBook::from_map(map).map_err(|e| PatternError {
            name: "map".into(),
            message: e.to_string(),
        })?;
        Self::with_book(policy, book)
    }

    /// A redactor that records its pseudonyms in `book` (see [`MapBook`]: bounded memory
    /// however many values a bundle holds).
    pub fn with_book(policy: Policy, book: MapBook) -> Result<Self, PatternError> {
        Ok(Self {
            detectors: Detectors::new(&policy.keywords, &policy.patterns)?,
            policy,
            pseudonymizer: Pseudonymizer::new(book.key()),
            map: Mutex::new(Issued {
                book,
                by_value: HashMap::new(),
                cached: 0,
                failure: None,
            }),
            learned: None,
        })
    }

    pub fn detectors(&self) -> &Detectors {
        &self.detectors
    }

    /// The first pass over a whole bundle: remembers the short names of fully qualified
    /// host names so the second pass also replaces them where they stand alone.
    pub fn learn<'a>(&mut self, texts: impl IntoIterator<Item = &'a [u8]>) {
        let mut names = BTreeSet::new();
        for text in texts {
            names.extend(short_host_names(&self.detectors, text));
        }
        self.learn_names(names);
    }

    /// Adds already collected short host names (see [`short_host_names`]).
    pub fn learn_names(&mut self, names: BTreeSet<String>) {
        if names.is_empty() {
            return;
        }
        let names: Vec<String> = names.into_iter().collect();
        self.learned = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&names)
            .ok()
            .map(|automaton| (automaton, names));
    }

    /// Fails if a pseudonym could not be recorded: the map would be incomplete, and a
    /// partner's reply could not be revealed. Check before presenting output as complete.
    pub fn check_map(&self) -> Result<(), MapError> {
        let mut issued = self.map.lock().unwrap_or_else(|e| e.into_inner());
        issued.failure.take().map_or(Ok(()), Err)
    }

    /// Writes the map as JSON, streamed from memory and spilled runs.
    pub fn write_map(&self, writer: impl std::io::Write) -> Result<(), MapError> {
        let mut issued = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(failure) = issued.failure.take() {
            return Err(failure);
        }
        issued.book.write_json(writer)
    }

    /// The map as it stands, in memory: every pseudonym issued so far.
    pub fn map(&self) -> Result<PseudonymMap, MapError> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .book
            .to_map()
    }

    /// Finds, then rewrites `text` according to the policy.
    pub fn redact(&self, text: &[u8]) -> Redacted {
        let mut findings = self.detectors.find(text);
        self.add_learned(text, &mut findings);
        let mut out = Vec::with_capacity(text.len());
        let mut at = 0;
        let mut issued =
            (!findings.is_empty()).then(|| self.map.lock().unwrap_or_else(|e| e.into_inner()));
        for finding in &findings {
            out.extend_from_slice(&text[at..finding.start]);
            let value = &text[finding.start..finding.end];
            match self.policy.action(finding.category) {
                Action::Keep => out.extend_from_slice(value),
                Action::Remove => {}
                Action::Mask => out.extend(std::iter::repeat_n(b'*', value.len().min(64))),
                Action::Pseudonymize => {
                    if let Some(issued) = issued.as_deref_mut() {
                        out.extend_from_slice(self.issue(issued, finding, value).as_bytes());
                    }
                }
            }
            at = finding.end;
        }
        out.extend_from_slice(&text[at..]);
        drop(issued);
        Redacted {
            text: out,
            findings,
        }
    }

    /// The pseudonym of a finding's value, derived once and remembered.
    fn issue<'a>(&self, issued: &'a mut Issued, finding: &Finding, value: &[u8]) -> &'a str {
        let kind = finding.kind;
        let cached = issued
            .by_value
            .get(&kind)
            .is_some_and(|values| values.contains_key(value));
        if !cached {
            let pseudonym = self.pseudonymizer.pseudonym(finding.kind, value);
            let entry = MapEntry {
                original: String::from_utf8_lossy(value).into_owned(),
                category: finding.category,
                kind: finding.kind.name().to_owned(),
            };
            if let Err(error) = issued.book.insert(pseudonym.clone(), entry) {
                issued.failure.get_or_insert(error);
            }
            if issued.cached >= CACHE_ENTRIES {
                issued.by_value.clear();
                issued.cached = 0;
            }
            issued.cached += 1;
            issued
                .by_value
                .entry(kind)
                .or_default()
                .insert(value.to_vec(), pseudonym);
        }
        &issued.by_value[&kind][value]
    }

    fn add_learned(&self, text: &[u8], findings: &mut Vec<Finding>) {
        let Some((automaton, _)) = &self.learned else {
            return;
        };
        let mut extra = Vec::new();
        // Findings are in order, and so are the matches: one cursor finds overlaps.
        let mut cursor = 0;
        for m in automaton.find_iter(text) {
            let before = m.start().checked_sub(1).map(|i| text[i]);
            let after = text.get(m.end()).copied();
            let boundary = |b: Option<u8>| {
                !b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            };
            while cursor < findings.len() && findings[cursor].end <= m.start() {
                cursor += 1;
            }
            let inside = findings.get(cursor).is_some_and(|f| f.start < m.end());
            if boundary(before) && boundary(after) && !inside {
                extra.push(Finding {
                    start: m.start(),
                    end: m.end(),
                    kind: Kind::Hostname,
                    category: Category::Hostnames,
                    confidence: 0.8,
                    reason: "short name of a host seen elsewhere in the input",
                });
            }
        }
        if !extra.is_empty() {
            findings.append(&mut extra);
            findings.sort_by_key(|f| f.start);
        }
    }

    /// The replacement of a bare short host name matches the first label of its full name.
    pub fn pseudonymizer(&self) -> &Pseudonymizer {
        &self.pseudonymizer
    }
}

/// The host part of every host name with three or more labels in `text`.
pub fn short_host_names(detectors: &Detectors, text: &[u8]) -> BTreeSet<String> {
    detectors
        .host_names(text)
        .filter_map(|name| {
            let host = std::str::from_utf8(name).ok()?;
            let labels: Vec<&str> = host.split('.').collect();
            let short = labels[0];
            (labels.len() >= 3
                && short.len() >= 3
                && short.chars().any(|c| c.is_ascii_digit() || c == '-'))
            .then(|| short.to_ascii_lowercase())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(policy: Policy) -> Redactor {
        Redactor::new(policy, PseudonymMap::new([3; 32])).unwrap()
    }

    #[test]
    fn pseudonyms_replace_values_and_go_into_the_map() {
        let r = redactor(Policy::default());
        let out = r.redact(b"mail jane@acme.com from 10.1.2.3");
        let text = String::from_utf8(out.text).unwrap();
        assert!(
            !text.contains("jane@acme.com") && !text.contains("10.1.2.3"),
            "{text}"
        );
        assert!(text.starts_with("mail user-"));
        let map = r.map().unwrap();
        assert_eq!(map.entries.len(), 2);
        let (restored, count) = map.reveal(text.as_bytes());
        assert_eq!(count, 2);
        assert_eq!(restored, b"mail jane@acme.com from 10.1.2.3");
    }

    #[test]
    fn the_policy_decides_per_category() {
        let policy = Policy::parse(
            "[actions]\nCREDENTIALS = \"mask\"\nHOSTNAMES = \"keep\"\nCONTACT = \"remove\"",
        )
        .unwrap();
        let r = redactor(policy);
        let out = r.redact(b"password=Hunter2Hunter2 host db.acme.com mail jane@acme.com.");
        assert_eq!(
            String::from_utf8(out.text).unwrap(),
            "password=************** host db.acme.com mail ."
        );
    }

    #[test]
    fn short_names_learned_anywhere_are_replaced_everywhere() {
        let mut r = redactor(Policy::default());
        r.learn([&b"ping web01.corp.acme.com ok"[..]]);
        let out = r.redact(b"web01 restarted; web01-backup untouched; xweb01 untouched");
        let text = String::from_utf8(out.text).unwrap();
        let label = r.pseudonymizer().label("web01");
        assert!(text.starts_with(&format!("{label} restarted")), "{text}");
        assert!(text.contains("web01-backup") && text.contains("xweb01"));
    }

    #[test]
    fn a_later_run_with_the_same_map_reuses_pseudonyms() {
        let first = redactor(Policy::default());
        let a = first.redact(b"host db1.acme.com").text;
        let second = Redactor::new(Policy::default(), first.map().unwrap()).unwrap();
        assert_eq!(second.redact(b"host db1.acme.com").text, a);
    }
}
