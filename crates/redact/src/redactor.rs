//! Applying the policy: findings in, rewritten text and a growing pseudonym map out.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Mutex;

use crate::detect::{host_mark, Detectors, Finding, Kind, NameWords, PatternError};
use crate::map::{MapBook, MapError, PseudonymMap};
use crate::{Action, Category, Policy, Pseudonymizer};

/// A text after redaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Redacted {
    pub text: Vec<u8>,
    pub findings: Vec<Finding>,
}

/// How many values the pseudonym cache remembers, and how many bytes of values and
/// pseudonyms, before it starts over. Pseudonyms are derived from the key, so forgetting
/// one costs a derivation, never consistency.
const CACHE_ENTRIES: usize = 100_000;
const CACHE_BYTES: usize = 16 << 20;

/// A hash map with a fast, non-cryptographic hasher: its keys come from the input, but
/// the cache it serves is bounded, so a crafted input can slow it at worst, never grow it.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The pseudonyms issued so far, both ways: the book for the owner's map, and a bounded
/// cache so that a value met again costs a lookup instead of a derivation.
struct Issued {
    book: MapBook,
    cache: Cache,
    /// The first failure to record a pseudonym (a full disk while spilling the map).
    failure: Option<MapError>,
}

/// Values met before and their pseudonyms, all in one buffer: a lookup hashes the value
/// once, a new entry allocates nothing but the buffer's growth, and starting over frees
/// nothing entry by entry.
#[derive(Default)]
struct Cache {
    hasher: foldhash::fast::RandomState,
    /// Entry by the hash of kind and value; a rare collision is only a miss, as entries
    /// are compared byte for byte.
    slots: FastMap<u64, u32>,
    entries: Vec<CacheEntry>,
    bytes: Vec<u8>,
}

/// Where one value and then its pseudonym lie in [`Cache::bytes`].
struct CacheEntry {
    kind: Kind,
    at: usize,
    value: usize,
    pseudonym: usize,
}

impl Cache {
    fn get(&self, kind: Kind, value: &[u8]) -> Option<&[u8]> {
        let slot = *self.slots.get(&self.hasher.hash_one((kind, value)))?;
        let entry = &self.entries[slot as usize];
        let value_end = entry.at + entry.value;
        (entry.kind == kind && &self.bytes[entry.at..value_end] == value)
            .then(|| &self.bytes[value_end..value_end + entry.pseudonym])
    }

    fn insert(&mut self, kind: Kind, value: &[u8], pseudonym: &[u8]) {
        let size = value.len() + pseudonym.len();
        if size > CACHE_BYTES {
            return;
        }
        if self.entries.len() >= CACHE_ENTRIES || self.bytes.len() + size > CACHE_BYTES {
            self.slots.clear();
            self.entries.clear();
            self.bytes.clear();
        }
        let slot = self.entries.len() as u32;
        self.entries.push(CacheEntry {
            kind,
            at: self.bytes.len(),
            value: value.len(),
            pseudonym: pseudonym.len(),
        });
        self.bytes.extend_from_slice(value);
        self.bytes.extend_from_slice(pseudonym);
        self.slots.insert(self.hasher.hash_one((kind, value)), slot);
    }
}

/// The pseudonyms of one chunk's findings, as spans of one buffer.
struct Replacements {
    bytes: Vec<u8>,
    spans: Vec<Option<(usize, usize)>>,
}

impl Replacements {
    fn set(&mut self, finding: usize, pseudonym: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(pseudonym);
        self.spans[finding] = Some((start, self.bytes.len()));
    }

    fn get(&self, finding: usize) -> Option<&[u8]> {
        self.spans[finding].map(|(start, end)| &self.bytes[start..end])
    }
}

/// Detectors, policy and pseudonymizer together; shareable between threads.
pub struct Redactor {
    detectors: Detectors,
    policy: Policy,
    pseudonymizer: Pseudonymizer,
    map: Mutex<Issued>,
    /// Short host names learned from full names seen anywhere in the input (`web01` from
    /// `web01.acme.com`) and user names seen in context, replaced wherever they stand
    /// alone.
    learned: Option<Learned>,
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
            detectors: Detectors::new(&policy.keywords, &policy.patterns)?.allowing(
                policy.allowed().map_err(|e| PatternError {
                    name: "allow".into(),
                    message: e.to_string(),
                })?,
            ),
            policy,
            pseudonymizer: Pseudonymizer::new(book.key()),
            map: Mutex::new(Issued {
                book,
                cache: Cache::default(),
                failure: None,
            }),
            learned: None,
        })
    }

    pub fn detectors(&self) -> &Detectors {
        &self.detectors
    }

    /// The first pass over a whole bundle: remembers the short names of fully qualified
    /// host names and the user names met in context, so the second pass also replaces
    /// them where they stand alone.
    pub fn learn<'a>(&mut self, texts: impl IntoIterator<Item = &'a [u8]>) {
        let mut lessons = Lessons::default();
        for text in texts {
            lessons.learn(&self.detectors, text);
        }
        self.learn_lessons(lessons);
    }

    /// Takes what a first pass learned (see [`Lessons`]).
    pub fn learn_lessons(&mut self, lessons: Lessons) {
        if lessons.is_empty() {
            return;
        }
        self.learned = Some(Learned::new(lessons));
    }

    /// Fails if a pseudonym could not be recorded: the map would be incomplete, and a
    /// partner's reply could not be revealed. Check before presenting output as complete.
    pub fn check_map(&self) -> Result<(), MapError> {
        let mut issued = self.issued();
        issued.failure.take().map_or(Ok(()), Err)
    }

    /// Writes the map as JSON, streamed from memory and spilled runs; returns how many
    /// values were left out because another value had the same pseudonym (the map reveals
    /// the first of each; see [`MapBook::for_each`]).
    pub fn write_map(&self, writer: impl std::io::Write) -> Result<usize, MapError> {
        let mut issued = self.issued();
        if let Some(failure) = issued.failure.take() {
            return Err(failure);
        }
        issued.book.write_json(writer)
    }

    /// The map as it stands, in memory: every pseudonym issued so far.
    pub fn map(&self) -> Result<PseudonymMap, MapError> {
        self.issued().book.to_map()
    }

    /// Finds, then rewrites `text` according to the policy.
    pub fn redact(&self, text: &[u8]) -> Redacted {
        self.redact_carrying(text, None).0
    }

    /// Finds, then appends `text` rewritten according to the policy to `out` (a stream
    /// reuses one buffer for all its chunks); returns the findings.
    pub fn redact_into(&self, text: &[u8], out: &mut Vec<u8>) -> Vec<Finding> {
        self.redact_carrying_into(text, None, out).0
    }

    /// [`Redactor::redact`] for a stream's chunk, with the table header `carried` over
    /// from the chunk before; also the header open at this one's end, for the next.
    pub(crate) fn redact_carrying(
        &self,
        text: &[u8],
        carried: Option<&crate::table::Header>,
    ) -> (Redacted, Option<crate::table::Header>) {
        let mut out = Vec::with_capacity(text.len());
        let (findings, open) = self.redact_carrying_into(text, carried, &mut out);
        let redacted = Redacted {
            text: out,
            findings,
        };
        (redacted, open)
    }

    /// [`Redactor::redact_into`] for a stream's chunk (see [`Redactor::redact_carrying`]).
    pub(crate) fn redact_carrying_into(
        &self,
        text: &[u8],
        carried: Option<&crate::table::Header>,
        out: &mut Vec<u8>,
    ) -> (Vec<Finding>, Option<crate::table::Header>) {
        let (mut findings, open) = self.detectors.find_carrying(text, carried);
        let learned_names = self.learned.as_ref().and_then(|l| l.names.as_ref());
        let parts = crate::detect::name_parts_alone(text, &findings, learned_names);
        merge(&mut findings, parts);
        self.add_learned(text, &mut findings);
        let pseudonyms = self.pseudonyms(text, &findings);
        out.reserve(text.len());
        let mut at = 0;
        for (i, finding) in findings.iter().enumerate() {
            out.extend_from_slice(&text[at..finding.start]);
            let value = &text[finding.start..finding.end];
            match self.policy.action(finding.category) {
                Action::Keep => out.extend_from_slice(value),
                Action::Remove => {}
                Action::Mask => out.extend(std::iter::repeat_n(b'*', value.len().min(64))),
                Action::Pseudonymize => {
                    if let Some(pseudonym) = pseudonyms.get(i) {
                        out.extend_from_slice(pseudonym);
                    }
                }
            }
            at = finding.end;
        }
        out.extend_from_slice(&text[at..]);
        (findings, open)
    }

    /// The issued pseudonyms; a worker that panicked holding them left them consistent
    /// (every change is one insert), so a poisoned lock is taken over.
    fn issued(&self) -> std::sync::MutexGuard<'_, Issued> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pseudonym of each finding the policy pseudonymizes. Those met before are read
    /// from the cache under the map's lock; new ones are derived outside it (the costly
    /// part, so workers derive in parallel), each distinct value once, then recorded in
    /// the book for the owner's map and in the bounded cache.
    fn pseudonyms(&self, text: &[u8], findings: &[Finding]) -> Replacements {
        let mut pseudonyms = Replacements {
            bytes: Vec::new(),
            spans: vec![None; findings.len()],
        };
        let wanted = |f: &Finding| self.policy.action(f.category) == Action::Pseudonymize;
        if !findings.iter().any(wanted) {
            return pseudonyms;
        }
        let mut missing = Vec::new();
        {
            let issued = self.issued();
            for (i, finding) in findings.iter().enumerate().filter(|(_, f)| wanted(f)) {
                let value = &text[finding.start..finding.end];
                match issued.cache.get(finding.kind, value) {
                    Some(pseudonym) => pseudonyms.set(i, pseudonym),
                    None => missing.push(i),
                }
            }
        }
        if missing.is_empty() {
            return pseudonyms;
        }
        // Each distinct new value derived once, into one buffer, with the category it is
        // recorded under.
        let mut derived = String::new();
        let mut fresh: FastMap<(Kind, &[u8]), (usize, usize, Category)> =
            FastMap::with_capacity_and_hasher(missing.len(), Default::default());
        for i in missing {
            let finding = &findings[i];
            let value = &text[finding.start..finding.end];
            let &mut (start, end, _) = fresh.entry((finding.kind, value)).or_insert_with(|| {
                let start = derived.len();
                self.pseudonymizer
                    .pseudonym_into(finding.kind, value, &mut derived);
                (start, derived.len(), finding.category)
            });
            pseudonyms.set(i, &derived.as_bytes()[start..end]);
        }
        let mut issued = self.issued();
        for ((kind, value), (start, end, category)) in fresh {
            let pseudonym = &derived[start..end];
            if let Err(error) = issued.book.record(pseudonym, value, category, kind.name()) {
                issued.failure.get_or_insert(error);
            }
            issued.cache.insert(kind, value, pseudonym.as_bytes());
        }
        pseudonyms
    }

    fn add_learned(&self, text: &[u8], findings: &mut Vec<Finding>) {
        let Some(learned) = &self.learned else {
            return;
        };
        let mut extra = Vec::new();
        // Findings are in order, and so are the runs.
        let mut taken = crate::detect::Taken::new(findings);
        // A learned name counts only as a whole run of name characters.
        for (start, end) in name_runs(text, |run| learned.may_start(run)) {
            // A sentence's full stop is no part of the name (`restarted web01.`).
            let Some(last) = text[start..end].iter().rposition(|b| *b != b'.') else {
                continue;
            };
            let end = start + last + 1;
            // A name right after an escape (`\\nweb01` in a JSON string) starts after it.
            let (start, learned_as) = match learned.holds(&text[start..end]) {
                Some(kind) => (start, kind),
                None if crate::detect::escape_letter(text, start) => {
                    match learned.holds(&text[start + 1..end]) {
                        Some(kind) => (start + 1, kind),
                        None => continue,
                    }
                }
                None => continue,
            };
            if taken.overlaps(start, end) {
                continue;
            }
            extra.push(match learned_as {
                Kind::Username => Finding {
                    start,
                    end,
                    kind: Kind::Username,
                    category: Category::AccountIdentifiers,
                    confidence: 0.7,
                    reason: "user name seen in context elsewhere in the input",
                },
                _ => learned_host(start, end),
            });
        }
        // Learned hosts within compounds, where the runs above saw one word: their
        // findings overlap none of the text's own or of the whole words'.
        let mut words = extra.iter().peekable();
        let mut taken = crate::detect::Taken::new(findings);
        let mut compounds = Vec::new();
        learned.hosts_in_compounds(text, &mut compounds);
        let parts: Vec<Finding> = compounds
            .into_iter()
            .filter(|&(start, end)| {
                while words.next_if(|w| w.end <= start).is_some() {}
                !taken.overlaps(start, end) && words.peek().is_none_or(|w| w.start >= end)
            })
            .map(|(start, end)| learned_host(start, end))
            .collect();
        extra.extend(parts);
        merge(findings, extra);
    }

    /// The replacement of a bare short host name matches the first label of its full name.
    pub fn pseudonymizer(&self) -> &Pseudonymizer {
        &self.pseudonymizer
    }
}

/// A learned short host name's finding.
fn learned_host(start: usize, end: usize) -> Finding {
    Finding {
        start,
        end,
        kind: Kind::Hostname,
        category: Category::Hostnames,
        confidence: 0.8,
        reason: "short name of a host seen elsewhere in the input",
    }
}

/// Adds findings that overlap none of `findings` (both in order), keeping them in order.
fn merge(findings: &mut Vec<Finding>, mut extra: Vec<Finding>) {
    if !extra.is_empty() {
        findings.append(&mut extra);
        findings.sort_by_key(|f| f.start);
    }
}

/// The runs of name bytes in `text` whose first byte `first` accepts, in order, as (start,
/// end): ASCII letters and digits, `-`, `_` and `.`, the bytes a learned name can stand
/// beside without being a whole word of its own (`xweb01`, `web01_old` or `web01.log` is
/// not the host; within `web01-backup`, see [`Learned::hosts_in_compounds`]). Every word of a text is a run, so they
/// are read from the text's classified bits (see [`crate::scan`]), not byte by byte; and
/// only a run whose first byte passes has its end looked for: most words of a log start
/// with a byte no learned name starts with, and cost a bit and a table lookup.
fn name_runs<'t>(
    text: &'t [u8],
    first: impl Fn(&[u8]) -> bool + 't,
) -> impl Iterator<Item = (usize, usize)> + 't {
    let names = crate::scan::bitmap(text, |b| b.lower | b.upper | b.digit | b.joiner);
    crate::scan::runs(names, text.len(), move |start| first(&text[start..]))
}

/// What the first pass learns: identifiers the second replaces wherever they stand alone
/// as a word, however they were met there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lessons {
    /// The short names of host names with three or more labels (`web01` from
    /// `web01.corp.acme.com`), lower case.
    pub(crate) hosts: BTreeSet<String>,
    /// User names met in a sure context (`user=alice`, `for user alice`, `/home/alice`;
    /// see [`learnable_user`]), so that the same name is replaced where nothing says it is
    /// one (`Accepted password for alice`, `sudo: alice : TTY=pts/0`, `(alice) CMD`), as
    /// written.
    pub(crate) users: BTreeSet<String>,
    /// The words of person names found in full (`Raman` from `From: Priya Raman`), as
    /// written, so that a word of a name found in one file is replaced where it stands
    /// alone in another (`Raman confirmed the fix` in a chat export).
    pub(crate) names: BTreeSet<Vec<u8>>,
    /// The words the input writes in small letters: a word of a name learned in one file
    /// is looked for only where the bundle never writes it as an everyday word (a
    /// changelog's `Joe English` leaves `English` alone in a bundle that says `english`).
    pub(crate) everyday: Everyday,
}

/// How many everyday words one text's lessons keep as they are before they keep them as a
/// Bloom filter (one per file of a bundle would be too many).
const EVERYDAY_FEW: usize = 1 << 16;
/// The Bloom filter's bits: 4 MiB, under 1 % false positives for two million distinct
/// words (a false positive only keeps a name word from being learned).
const EVERYDAY_BITS: usize = 1 << 25;

/// Words by their hash (lower case, with a fixed seed, so that the lessons of several
/// threads combine): a few exactly, many in a Bloom filter of two bits per word.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Everyday {
    few: HashSet<u64, foldhash::fast::FixedState>,
    bloom: Option<Box<[u64]>>,
}

impl std::fmt::Debug for Everyday {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Everyday")
            .field("few", &self.few.len())
            .field("bloom", &self.bloom.is_some())
            .finish()
    }
}

impl Everyday {
    fn hash(word: &[u8]) -> u64 {
        crate::pseudonym::with_lower(word, |lower| {
            foldhash::fast::FixedState::default().hash_one(lower)
        })
    }

    fn bits(hash: u64) -> [usize; 2] {
        let mask = EVERYDAY_BITS as u64 - 1;
        [(hash & mask) as usize, ((hash >> 32) & mask) as usize]
    }

    fn add(&mut self, hash: u64) {
        match &mut self.bloom {
            Some(bloom) => {
                for bit in Self::bits(hash) {
                    bloom[bit / 64] |= 1 << (bit % 64);
                }
            }
            None => {
                self.few.insert(hash);
                if self.few.len() > EVERYDAY_FEW {
                    self.bloom = Some(vec![0; EVERYDAY_BITS / 64].into_boxed_slice());
                    for hash in std::mem::take(&mut self.few) {
                        self.add(hash);
                    }
                }
            }
        }
    }

    /// Adds each word of `text` that starts with a small letter and is a word of its own
    /// as the name parts' search judges one.
    fn learn(&mut self, text: &[u8]) {
        // The words met last, by hash: a text repeats its words, and each one added
        // again would cost the filter a miss of the processor's cache.
        let mut recent = [0u64; 1024];
        let letters = crate::scan::bitmap(text, |b| b.lower | b.upper);
        let small = |start: usize| text[start].is_ascii_lowercase();
        for (start, end) in crate::scan::runs(letters, text.len(), small) {
            if (3..=64).contains(&(end - start)) && crate::detect::whole_word(text, start, end) {
                let hash = Self::hash(&text[start..end]);
                let slot = &mut recent[(hash % 1024) as usize];
                if *slot != hash {
                    *slot = hash;
                    self.add(hash);
                }
            }
        }
    }

    fn append(&mut self, other: Everyday) {
        match (&mut self.bloom, other.bloom) {
            (Some(mine), Some(theirs)) => {
                for (a, b) in mine.iter_mut().zip(theirs.iter()) {
                    *a |= b;
                }
            }
            (None, Some(theirs)) => {
                let few = std::mem::take(&mut self.few);
                self.bloom = Some(theirs);
                for hash in few {
                    self.add(hash);
                }
            }
            _ => {}
        }
        for hash in other.few {
            self.add(hash);
        }
    }

    fn holds(&self, word: &[u8]) -> bool {
        let hash = Self::hash(word);
        match &self.bloom {
            Some(bloom) => Self::bits(hash)
                .iter()
                .all(|bit| bloom[bit / 64] & (1 << (bit % 64)) != 0),
            None => self.few.contains(&hash),
        }
    }
}

/// How many names of each kind a run learns; past it, names are still found in context,
/// only not wherever they stand alone. Bounds the first pass's memory (a name is at most
/// 64 bytes) however many distinct names a bundle holds.
pub const LEARNED_NAMES: usize = 200_000;

/// How many words of person names a run learns: all of them in any support bundle, and
/// one automaton looks for them in every chunk, so the bound keeps it small (past it, a
/// word is still found within the text that names the person in full).
pub const LEARNED_NAME_WORDS: usize = 20_000;

impl Lessons {
    /// Learns from one text (a chunk of a file).
    pub fn learn(&mut self, detectors: &Detectors, text: &[u8]) {
        self.learn_carrying(detectors, text, None);
    }

    /// Learns from one chunk of a stream, its first lines read as rows of the table
    /// header `carried` over from the chunk before; returns the header of the table whose
    /// rows run to the chunk's end, for the next.
    pub(crate) fn learn_carrying(
        &mut self,
        detectors: &Detectors,
        text: &[u8],
        carried: Option<&crate::table::Header>,
    ) -> Option<crate::table::Header> {
        // A host named by its one label (`Host Name: WS-0142`) is learned as a short name
        // is: with a digit or a hyphen (`web` of `hostname: web` is an everyday word).
        let labels = detectors
            .host_labels(text)
            .chain(Detectors::hosts_file_labels(text))
            .chain(Detectors::syslog_hosts(text))
            .chain(Detectors::kubectl_nodes(text))
            .filter(|label| label.iter().copied().any(host_mark))
            .map(|label| String::from_utf8_lossy(label).to_ascii_lowercase());
        add_bounded(
            &mut self.hosts,
            short_host_names(detectors, text).into_iter().chain(labels),
            LEARNED_NAMES,
        );
        let mut pair_hosts = Vec::new();
        // A table's people and accounts (`first_name`, `username` columns), which the
        // rewrite then finds in every file, as the names of its cells.
        let (cells, open) = detectors.table_cells(text, &[], carried);
        let table_users: Vec<String> = cells
            .iter()
            .filter(|f| f.kind == Kind::Username)
            .filter_map(|f| learnable_user(text, f.start, f.start..f.end, true))
            .collect();
        let users = detectors.user_names(text).into_iter().filter_map(|seen| {
            // A prompt's or a key's host, as a host named by its label is.
            if let Some(host) = seen.host.map(|h| &text[h]) {
                if !host.contains(&b'.') && host.iter().copied().any(host_mark) {
                    pair_hosts.push(String::from_utf8_lossy(host).to_ascii_lowercase());
                }
            }
            learnable_user(text, seen.context, seen.name?, seen.sure)
        });
        add_bounded(&mut self.users, users.chain(table_users), LEARNED_NAMES);
        add_bounded(&mut self.hosts, pair_hosts, LEARNED_NAMES);
        // Only full names: a word found alone (`Hi Mon`, `Name: Serialize`) is evidence
        // enough within its own text, not for every file of a bundle.
        let names = detectors.full_names(text);
        let words = crate::detect::name_words(text, &names)
            .chain(crate::detect::name_words(text, &cells))
            .map(<[u8]>::to_vec);
        add_bounded(&mut self.names, words, LEARNED_NAME_WORDS);
        self.everyday.learn(text);
        open
    }

    /// Adds what another part of the input taught.
    pub fn append(&mut self, other: Lessons) {
        add_bounded(&mut self.hosts, other.hosts, LEARNED_NAMES);
        add_bounded(&mut self.users, other.users, LEARNED_NAMES);
        add_bounded(&mut self.names, other.names, LEARNED_NAME_WORDS);
        self.everyday.append(other.everyday);
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.users.is_empty() && self.names.is_empty()
    }
}

fn add_bounded<T: Ord>(names: &mut BTreeSet<T>, more: impl IntoIterator<Item = T>, bound: usize) {
    for name in more {
        if names.len() >= bound {
            return;
        }
        names.insert(name);
    }
}

/// A user name sure enough to replace wherever it stands alone. Prose and code name users
/// in context too (`inform user that`, `let uid = unsafe {`, `pub uid: __u32`): found
/// there, one such word is no leak, but learned, every `that` of a bundle would go. So
/// only a name that is assigned (`user=alice`, `"username": "alice"`), in a log's phrase
/// (`for user alice from`), a daemon's line (`Accepted publickey for alice from`, `sudo:
/// alice : TTY=`) or a home directory (`/home/alice`, `C:\\Users\\Alice`) is learned,
/// only one shaped like an account (at most 32 bytes: a letter, then letters and digits
/// with single `.`, `_` or `-` between; lower case but on Windows), not before code (`(`,
/// `{`, `::`), and not an account every system has or a word of everyday logs
/// (`postgres`, `www-data`, `backup`, `test`): those name no person, and replacing every
/// mention would make the bundle hard to read (`systemctl restart postgres`).
fn learnable_user(
    text: &[u8],
    context: usize,
    name: std::ops::Range<usize>,
    sure: bool,
) -> Option<String> {
    let before = &text[context..name.start];
    let next = text.get(name.end);
    let after = text[name.end..].trim_ascii_start();
    let value = &text[name];
    let windows = before.ends_with(b"\\");
    let home = windows || before.ends_with(b"/");
    // `user=alice uid=1000`, `"user": "alice"`, `User: alice` at a line's end; not
    // `API user: add and use`.
    let key = before.trim_ascii_end();
    let quote = key.last().filter(|b| **b == b'"' || **b == b'\'');
    let key = key[..key.len() - usize::from(quote.is_some())].trim_ascii_end();
    // The name ends its line, its field or its quotes (`login: don't` is prose).
    let ends = next.is_none_or(|b| b"\r\n,;)]}&".contains(b) || Some(b) == quote);
    let assigned = match key.last() {
        Some(b'=') => true,
        Some(b':') => ends,
        _ => false,
    };
    // `session opened for user alice by`, `Failed password for user alice from`; not
    // `waits for user action`.
    let log_phrase = text[context.saturating_sub(4)..context].eq_ignore_ascii_case(b"for ")
        && before.len() >= 4
        && before[..4].eq_ignore_ascii_case(b"user")
        && (after.starts_with(b"from ") || after.starts_with(b"by "));
    // `Accepted publickey for alice from`, `sudo:   alice : TTY=`, `CRON[7]: (alice) CMD`.
    let daemon_line = [&b"Accepted "[..], b"Failed ", b"sudo:", b"CRON["]
        .iter()
        .any(|word| before.starts_with(word));
    let code = after.first().is_some_and(|b| b"({[".contains(b)) || after.starts_with(b"::");
    let account = (3..=32).contains(&value.len())
        && value[0].is_ascii_alphabetic()
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
        && !value
            .windows(2)
            .any(|w| !w[0].is_ascii_alphanumeric() && !w[1].is_ascii_alphanumeric())
        && (windows || !value.iter().any(u8::is_ascii_uppercase));
    ((home || assigned || log_phrase || daemon_line || sure)
        && !code
        && account
        && !crate::detect::SHARED_ACCOUNTS.contains_lowered(value))
    .then(|| String::from_utf8_lossy(value).into_owned())
}

/// Learned names with a quick filter: host names in lower case (a host's name is the same
/// in any letter case), user names as written (`Alice` in prose is not the account
/// `alice`, and `Add` is no user `add`). Looked up for every word of a text, so with a
/// fast hasher: the names come from the input, but a crafted one can only slow the
/// lookups down.
struct Learned {
    hosts: HashSet<Vec<u8>, foldhash::fast::RandomState>,
    users: HashSet<Vec<u8>, foldhash::fast::RandomState>,
    /// For each length, a bit per first byte (lower case) a learned name of that length
    /// starts with: most words of a text match no learned name's and cost no hashing.
    starts: Box<[[u64; 4]; 64]>,
    /// Words of person names, looked for by [`crate::detect::name_parts_alone`].
    names: Option<NameWords>,
    /// The bytes, in either case, a learned host or user name starts with.
    first_bytes: [bool; 256],
    /// The bytes, in either case, a learned host name starts with.
    host_bytes: [bool; 256],
}

impl Learned {
    fn new(lessons: Lessons) -> Self {
        let mut learned = Self {
            hosts: HashSet::default(),
            users: HashSet::default(),
            starts: Box::new([[0; 4]; 64]),
            first_bytes: [false; 256],
            host_bytes: [false; 256],
            names: NameWords::learned(
                lessons
                    .names
                    .into_iter()
                    .filter(|word| !lessons.everyday.holds(word))
                    .map(Box::from)
                    .collect(),
            ),
        };
        let names = |set: BTreeSet<String>| {
            set.into_iter()
                .filter(|n| !n.is_empty() && n.len() < 64)
                .map(String::into_bytes)
        };
        for name in names(lessons.hosts) {
            learned.add_start(&name);
            learned.host_bytes[usize::from(name[0].to_ascii_lowercase())] = true;
            learned.host_bytes[usize::from(name[0].to_ascii_uppercase())] = true;
            learned.hosts.insert(name.to_ascii_lowercase());
        }
        for name in names(lessons.users) {
            learned.add_start(&name);
            learned.users.insert(name);
        }
        learned
    }

    fn add_start(&mut self, name: &[u8]) {
        self.first_bytes[usize::from(name[0].to_ascii_lowercase())] = true;
        self.first_bytes[usize::from(name[0].to_ascii_uppercase())] = true;
        let first = name[0].to_ascii_lowercase();
        self.starts[name.len()][usize::from(first / 64)] |= 1 << (first % 64);
    }

    /// Whether a learned name may start `run` (the rest of a text from a run's start), or
    /// start right after an escape's letter there (`\\nweb01` in a JSON string).
    fn may_start(&self, run: &[u8]) -> bool {
        let first = |at: usize| {
            run.get(at)
                .is_some_and(|b| self.first_bytes[usize::from(*b)])
        };
        first(0) || matches!(run[0], b'n' | b'r' | b't') && first(1)
    }

    /// The learned host names within compounds of `text` joined by `-`
    /// (`sosreport-db03-2026-12-04`, `db03-bond0.nmconnection`, `db03-backup.tar`), in
    /// order, as (start, end): at each part, the longest run of parts from it that is one.
    /// Not `_`, which joins the words of nearly every identifier in code, where looking
    /// cost a twentieth of a run on source code. A host's own name holds a digit or a hyphen (see [`short_name`]), so
    /// it is no everyday word of such a compound; a user name, which may be one (`deploy`
    /// of `pre-deploy`), is looked for only as a whole word.
    fn hosts_in_compounds(&self, text: &[u8], found: &mut Vec<(usize, usize)>) {
        /// How many parts a name found this way spans at most.
        const PARTS: usize = 8;
        if self.hosts.is_empty() {
            return;
        }
        let name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
        // Where each part of a compound ends: at each hyphen, and at its end.
        let mut cuts = Vec::new();
        // Compounds are found from their hyphens, which are far fewer than words.
        let mut done = 0;
        for at in memchr::memchr_iter(b'-', text) {
            if at < done {
                continue;
            }
            let std::ops::Range { start, end } = crate::detect::run_around(text, at, name_byte);
            done = end;
            cuts.clear();
            cuts.extend(memchr::memchr_iter(b'-', &text[start..end]).map(|p| start + p));
            cuts.push(end);
            // Each part, from the compound's start or after a hyphen: the longest run of
            // parts from it that names a learned host, then on after that run.
            let (mut part, mut k) = (start, 0);
            while k < cuts.len() {
                if cuts[k] > part && self.host_bytes[usize::from(text[part])] {
                    let longest = (k..cuts.len().min(k + PARTS)).rev().find_map(|j| {
                        // A sentence's full stop is no part of the name.
                        let e = part + text[part..cuts[j]].iter().rposition(|b| *b != b'.')? + 1;
                        (self.holds(&text[part..e]) == Some(Kind::Hostname)).then_some((j, e))
                    });
                    if let Some((j, e)) = longest {
                        found.push((part, e));
                        k = j;
                    }
                }
                part = cuts[k] + 1;
                k += 1;
            }
        }
    }

    /// The kind `run` was learned as; a name learned both ways is a host's, the surer
    /// lesson.
    fn holds(&self, run: &[u8]) -> Option<Kind> {
        let first = run.first()?.to_ascii_lowercase();
        let starts = self.starts.get(run.len())?;
        if starts[usize::from(first / 64)] & (1 << (first % 64)) == 0 {
            return None;
        }
        let mut lower = [0u8; 64];
        for (to, from) in lower.iter_mut().zip(run) {
            *to = from.to_ascii_lowercase();
        }
        if self.hosts.contains(&lower[..run.len()]) {
            Some(Kind::Hostname)
        } else if self.users.contains(run) {
            Some(Kind::Username)
        } else {
            None
        }
    }
}

/// The host part of every host name with three or more labels in `text`.
///
/// Only a run of host characters with two dots and a letter can hold such a name, so the
/// host-name automaton runs on those runs alone (found from their dots), not on the
/// whole text: the learning pass then costs a fraction of a full scan.
pub fn short_host_names(detectors: &Detectors, text: &[u8]) -> BTreeSet<String> {
    // What each byte is to a run of host characters, looked up, not compared: the runs
    // around every dot of a text are walked byte by byte, and three comparisons a byte
    // cost about 1 % of a whole run.
    const HOST: u8 = 1;
    const DOT: u8 = 2;
    const LETTER: u8 = 4;
    const MARK: u8 = 8;
    const CLASSES: [u8; 256] = {
        let mut table = [0; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = if c == b'.' {
                HOST | DOT
            } else if c.is_ascii_alphabetic() {
                HOST | LETTER
            } else if host_mark(c) {
                HOST | MARK
            } else {
                0
            };
            b += 1;
        }
        table
    };
    let class = |b: u8| CLASSES[usize::from(b)];
    let mut names = BTreeSet::new();
    let mut at = 0;
    while let Some(found) = memchr::memchr(b'.', &text[at..]) {
        let dot = at + found;
        let start = text[..dot]
            .iter()
            .rposition(|b| class(*b) == 0)
            .map_or(0, |p| p + 1);
        // One walk over the run: where it ends, its dots, and whether it holds a letter
        // and a digit or hyphen.
        let (mut end, mut dots, mut seen) = (start, 0usize, 0u8);
        while let Some(&b) = text.get(end) {
            let c = class(b);
            if c == 0 {
                break;
            }
            dots += usize::from(c & DOT != 0);
            seen |= c;
            end += 1;
        }
        at = end.max(dot + 1);
        // A run with no byte a short name needs (a stack frame's
        // `com.acme.billing.Invoice.post`) holds none, and costs no search. Two labels
        // name a host within a site only under an internal suffix (`db-01.internal`).
        let internal = || {
            let last = text[start..end]
                .rsplit(|b| *b == b'.')
                .next()
                .unwrap_or(b"");
            crate::validate::internal_suffix(last)
        };
        if dots == 0 || seen & LETTER == 0 || seen & MARK == 0 || (dots == 1 && !internal()) {
            continue;
        }
        for name in detectors.host_names_in(text, start..end) {
            // A name met again, as written, costs no allocation.
            if let Some(short) = short_name(name).filter(|s| !names.contains(*s)) {
                names.insert(short.to_ascii_lowercase());
            }
        }
    }
    names
}

/// The first label of a host name with three or more labels, or two under an internal
/// suffix, if it looks like a host's own name (three characters or more, with a
/// [`host_mark`]) and names a host within a site, not the site itself: `web01` of
/// `web01.corp.acme.com`, `web01.acme.co.uk` or `db-01.internal`, but not `http2` of
/// `http2.github.io`, a site of its own under a public suffix, whose name in a project's
/// docs is a word of the project. As written.
fn short_name(name: &[u8]) -> Option<&str> {
    let host = std::str::from_utf8(name).ok()?;
    let mut labels = host.split('.');
    let short = labels.next()?;
    if !(short.len() >= 3 && short.bytes().any(host_mark)) {
        return None;
    }
    let (count, last) = labels.fold((0, ""), |(count, _), label| (count + 1, label));
    if count == 1 && crate::validate::internal_suffix(last.as_bytes()) {
        return Some(short);
    }
    if count < 2 {
        return None;
    }
    // The public suffix list is in lower case.
    let site =
        crate::pseudonym::with_lower(name, |lower| Some(psl::domain(lower)?.as_bytes().len()))?;
    (site < name.len()).then_some(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor(policy: Policy) -> Redactor {
        Redactor::new(policy, PseudonymMap::new([3; 32])).unwrap()
    }

    /// Texts made of the pieces detectors and their contexts are made of, in random order:
    /// where a scan could loop, go back or cut a value wrongly, such soups find it (a man
    /// page's `/home/u/user` once hung the learning pass).
    #[test]
    fn token_soups_end_with_findings_in_order_within_the_text() {
        const SOUPS: usize = 3000;
        const PIECES: &[&[u8]] = &[
            b"/home/",
            b"user",
            b"User ",
            b"u",
            b"/",
            b"\\",
            b"\\n",
            b"n",
            b".",
            b"..",
            b"@",
            b"acme.com",
            b"web01",
            b"-",
            b"_",
            b":",
            b"=",
            b" ",
            b"\n",
            b"\t",
            b"1",
            b"42",
            b"10.0.0.1",
            b"::",
            b"fe80::1",
            b"password=",
            b"token: ",
            b"Bearer ",
            b"eyJ",
            b"-----BEGIN RSA PRIVATE KEY-----",
            b"-----END ",
            b"Hi ",
            b"Priya",
            b"Raman",
            b",",
            b"Thanks,\n",
            b"+1 555 ",
            b"4111 1111",
            b"C:\\Users\\",
            b"uid=",
            b"for user ",
            b" from ",
            b"sudo:",
            b"CRON[",
            b"Accepted ",
            b"\"",
            b"'",
            b"(",
            b")",
            b"{",
            b"}",
            b"<",
            b">",
            "\u{e9}".as_bytes(),
            b"\xc3",
            b"\\u00e9",
            b"\xff",
            b"Jan",
            b"08",
            b"IEEE ",
            b"x.name",
            b"www.",
            b"https://",
            b"ab:cd:ef:01:23:45",
            // Accounts, directories, hosts by label and in compounds, encoded keys.
            b"db03",
            b"db03.corp.acme.com",
            b"sosreport-",
            b"CN=",
            b"DC=",
            b"OU=",
            b":x:1001:1001:",
            b":$6$",
            b"$y$",
            b"{SSHA}",
            b"md5",
            b"Host Name . . : ",
            b"HOSTNAME=",
            b"\\\\",
            b"LS0tLS1CRUdJTi",
            b"- name: DB_PASSWORD",
            b"value: ",
            b"CROND[1]: (",
            b"sudo[2]: ",
            b":5432:",
            b"requirepass ",
            b"machine ",
            // Terminal sessions, command lines, network devices, URLs, handles.
            b"[jdoe@ws-01 ~]$ ",
            b":~/src$ ",
            b"ssh-ed25519 AAAAC3Nz ",
            b"mysql ",
            b" -p",
            b" -u ",
            b" -U ",
            b"psql ",
            b"docker login ",
            b"curl ",
            b"alice:S3cret",
            b"jdbc:oracle:thin:",
            b"scott/tiger@",
            b"enable secret 5 ",
            b"snmp-server community ",
            b"tacacs-server key 7 ",
            b"hostname ",
            b"amqp://",
            b"$",
            b"255.255.255.0",
            b"User ID=",
            b"\\users\\",
            b"kwatanabe <kwatanabe@",
            b"-- \n",
            // SQL, connection strings, hosts files, networks, encoded addresses.
            b" IDENTIFIED BY '",
            b"PASSWORD '",
            b"TO 'jdoe'@'",
            b"host all app ",
            b"local ",
            b" md5",
            b"Server=",
            b"host=",
            b" port=",
            b"SECRET_KEY_BASE=",
            b"9f8e7d6c5b4a3928",
            b"\"Kowalski, Maria\" <",
            b"%40",
            b"/16",
            b"::/48",
            b"redis://:",
            b"&sig=",
            b"hooks.slack.com/services/",
            b"/webhookb2/",
            b"Private-Lines: 2",
            b"Passport No: ",
            b"Date of birth: ",
            b"12/03/1984",
            b"customer_id=",
            b"ACME-00912",
            b"nfs01:/",
            b"mysql -h ",
            b"db-prod-01.internal",
            b"ff:ff:ff:ff:ff:ff",
            b"ff02::1",
            b"sk-proj-",
            b"arn:aws:iam::123456789012:",
            b"user/",
            b"abc8Q~",
            b"subscriptionId=",
        ];
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = redactor(Policy::default());
            // xorshift: the same soups on every run.
            let mut state = 0x9E37_79B9_7F4A_7C15_u64;
            let mut next = move |bound: usize| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % bound as u64) as usize
            };
            let soups: Vec<Vec<u8>> = (0..SOUPS)
                .map(|_| {
                    let len = 3 + next(60);
                    (0..len)
                        .flat_map(|_| PIECES[next(PIECES.len())].to_vec())
                        .collect()
                })
                .collect();
            r.learn(soups.iter().map(Vec::as_slice));
            for soup in &soups {
                let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let out = r.redact(soup);
                    let mut end = 0;
                    for f in &out.findings {
                        assert!(end <= f.start && f.start < f.end && f.end <= soup.len());
                        end = f.end;
                    }
                    if out.findings.is_empty() {
                        assert_eq!(&out.text, soup);
                    }
                }));
                if checked.is_err() {
                    let _ = done.send(Err(String::from_utf8_lossy(soup).into_owned()));
                    return;
                }
            }
            let _ = done.send(Ok(soups.len()));
        });
        let soups = result
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("every soup ends");
        assert_eq!(soups, Ok(SOUPS), "this soup failed");
    }

    #[test]
    fn name_runs_are_the_runs_of_name_bytes_across_blocks() {
        let naive = |text: &[u8]| {
            let mut runs = Vec::new();
            let mut start = None;
            for (i, b) in text.iter().enumerate() {
                let name = b.is_ascii_alphanumeric() || b"-_.".contains(b);
                match (name, start) {
                    (true, None) => start = Some(i),
                    (false, Some(s)) => {
                        runs.push((s, i));
                        start = None;
                    }
                    _ => {}
                }
            }
            runs.extend(start.map(|s| (s, text.len())));
            runs
        };
        let mut texts: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b" ".to_vec(),
            b"web01".to_vec(),
            b"ping web01, then db-2.acme.com: ok\n".to_vec(),
            vec![b'a'; 64],
            vec![b'a'; 200],
            [vec![b' '; 63], vec![b'x'; 2], vec![b' '; 63]].concat(),
            [vec![b'x'; 64], vec![b' '], vec![b'y'; 127]].concat(),
        ];
        // Every byte value, and words of every length up to two blocks.
        texts.push((0..=255u8).cycle().take(700).collect());
        texts.push(
            (1..130)
                .flat_map(|n| std::iter::repeat_n(b'h', n).chain([b' ']))
                .collect(),
        );
        for text in &texts {
            assert_eq!(
                name_runs(text, |_| true).collect::<Vec<_>>(),
                naive(text),
                "{text:?}"
            );
            // Only the runs whose first byte is accepted, each still whole.
            let odd = |run: &[u8]| run[0] % 2 == 1;
            let expected: Vec<_> = naive(text)
                .into_iter()
                .filter(|&(s, _)| odd(&text[s..]))
                .collect();
            assert_eq!(
                name_runs(text, odd).collect::<Vec<_>>(),
                expected,
                "{text:?}"
            );
        }
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
    fn a_word_of_a_full_name_alone_is_replaced_as_that_word_is_anywhere() {
        let r = redactor(Policy::default());
        let text = b"From: Priya Raman <priya@acme.com>\n\nRaman confirmed the fix.";
        let out = String::from_utf8(r.redact(text).text).unwrap();
        assert!(!out.contains("Raman"), "{out}");
        // The same pseudonym as `Hi Raman,` gives: one word, one pseudonym.
        let alone = r.pseudonymizer().pseudonym(Kind::PersonName, b"Raman");
        assert!(
            out.ends_with(&format!("\n\n{alone} confirmed the fix.")),
            "{out}"
        );
        let greeted = String::from_utf8(r.redact(b"Hi Raman,\n").text).unwrap();
        assert_eq!(greeted, format!("Hi {alone},\n"));
    }

    /// The values and kinds of `text`'s findings after redaction by `r`.
    fn found(r: &Redactor, text: &str) -> Vec<(String, Kind)> {
        r.redact(text.as_bytes())
            .findings
            .iter()
            .map(|f| (text[f.start..f.end].to_string(), f.kind))
            .collect()
    }

    #[test]
    fn a_word_of_a_name_learned_in_one_file_is_replaced_alone_in_another() {
        let ticket = "From: Priya Raman <priya@acme.com>\nDear Neil Smith,\n";
        let chat = "Raman: the fix is in\nRaman's patch, RAMAN, Ramanathan, Raman.java\n";
        let mut r = redactor(Policy::default());
        assert!(
            found(&r, chat).is_empty(),
            "nothing in the chat names Raman in full"
        );
        r.learn([ticket.as_bytes(), chat.as_bytes()]);
        let raman = ("Raman".to_string(), Kind::PersonName);
        assert_eq!(found(&r, chat), vec![raman.clone(), raman.clone()]);
        let out = String::from_utf8(r.redact(chat.as_bytes()).text).unwrap();
        let alone = r.pseudonymizer().pseudonym(Kind::PersonName, b"Raman");
        assert!(out.starts_with(&format!("{alone}: the fix")), "{out}");
        assert_eq!(
            found(&r, "Smith said so\n"),
            vec![("Smith".to_string(), Kind::PersonName)]
        );
        // A bundle that also writes the word in small letters anywhere uses it as a word,
        // not a name: it is not learned.
        let mut words = redactor(Policy::default());
        words.learn([ticket.as_bytes(), b"the smith forged it\n"]);
        assert!(found(&words, "Smith said so\n").is_empty());
        assert_eq!(found(&words, "Raman said so\n").len(), 1);
        // So too where another file's lessons (another worker's) are added to these.
        let mut lessons = Lessons::default();
        lessons.learn(words.detectors(), ticket.as_bytes());
        let mut other = Lessons::default();
        other.learn(words.detectors(), b"the smith forged it\n");
        lessons.append(other);
        let mut appended = redactor(Policy::default());
        appended.learn_lessons(lessons);
        assert!(found(&appended, "Smith said so\n").is_empty());
        assert_eq!(found(&appended, "Raman said so\n").len(), 1);
        // Beside another capital it is part of something else's name.
        assert!(found(&r, "the Smith Labs report\n").is_empty());
        // A chat's or a log's time or date before it is no house number.
        for line in [
            "10:02 Raman: done",
            "[10:02] Raman: done",
            "9:15:30 Raman: done",
            "[2026-12-04 10:02] Raman: done",
            "2026-12-04T10:02:03Z Raman joined",
        ] {
            assert_eq!(found(&r, line), vec![raman.clone()], "{line}");
        }
        for line in [
            "lives at 42 Raman",
            "12-14 Raman",
            "1:5 Raman",
            "123:45 Raman",
            "1x:30 Raman",
            "10:02 Raman Street",
            "2026-12-4 Raman",
        ] {
            assert!(found(&r, line).is_empty(), "{line}");
        }
    }

    #[test]
    fn a_tables_people_and_accounts_are_learned_for_every_file() {
        let export = "id,first_name,last_name,username\n1001,Piotr,Nowak,pnowak\n";
        let ticket = "Piotr says pnowak cannot log in; Nowak's manager agrees.\n";
        let mut r = redactor(Policy::default());
        assert!(
            found(&r, ticket).is_empty(),
            "nothing in the ticket names them"
        );
        assert_eq!(
            found(&r, export),
            [
                ("Piotr".to_string(), Kind::PersonName),
                ("Nowak".to_string(), Kind::PersonName),
                ("pnowak".to_string(), Kind::Username),
            ]
        );
        r.learn([export.as_bytes(), ticket.as_bytes()]);
        assert_eq!(
            found(&r, ticket),
            [
                ("Piotr".to_string(), Kind::PersonName),
                ("pnowak".to_string(), Kind::Username),
                ("Nowak".to_string(), Kind::PersonName),
            ]
        );
    }

    #[test]
    fn everyday_words_are_kept_exactly_then_in_a_filter_and_lessons_combine() {
        // Distinct words of letters only: `zqa`, `zqb`, … `zqaab`, …
        let word = |mut n: usize| {
            let mut w = String::from("zq");
            loop {
                w.push(char::from(b'a' + (n % 26) as u8));
                n /= 26;
                if n == 0 {
                    return w;
                }
            }
        };
        let text: String = (0..EVERYDAY_FEW + 10).map(|i| word(i) + " ").collect();
        let mut many = Everyday::default();
        many.learn(text.as_bytes());
        assert!(many.bloom.is_some());
        assert!(many.holds(word(7).as_bytes()) && many.holds(word(EVERYDAY_FEW + 9).as_bytes()));
        assert!(!many.holds(b"Smith"));
        let mut few = Everyday::default();
        few.learn(
            b"the smith forged it; Smith, xsmith, smith's, sm, /home/jones mason.java @baker cole",
        );
        assert!(few.bloom.is_none());
        // As the name parts' search judges words: `smith` and the last word are ones,
        // `sm` is too short, a path's, a file's or a handle's part none.
        assert!(few.holds(b"Smith") && few.holds(b"forged") && few.holds(b"Cole"));
        for no in ["sm", "Jones", "Mason", "Baker"] {
            assert!(!few.holds(no.as_bytes()), "{no}");
        }
        let mut both = few.clone();
        both.append(many.clone());
        assert!(both.holds(b"Smith") && both.holds(word(3).as_bytes()));
        many.append(few);
        assert!(many.holds(b"Smith") && many.holds(word(3).as_bytes()));
        assert!(!many.holds(b"Raman"));
    }

    #[test]
    fn words_learned_and_a_texts_own_never_overlap() {
        let mut r = redactor(Policy::default());
        r.learn([&b"Dear Priya Orazio,\n"[..]]);
        // `D'Orazio` is this text's own word, `Orazio` a learned one inside it: one
        // finding.
        let text = "From: Mary D'Orazio <mary@acme.com>\nD'Orazio agreed, and Orazio too\n";
        let names: Vec<String> = found(&r, text).into_iter().map(|(v, _)| v).collect();
        assert_eq!(
            names,
            ["Mary D'Orazio", "mary@acme.com", "D'Orazio", "Orazio"]
        );
    }

    #[test]
    fn short_names_learned_anywhere_are_replaced_everywhere() {
        let mut r = redactor(Policy::default());
        r.learn([&b"ping web01.corp.acme.com ok"[..]]);
        let out =
            r.redact(b"web01 restarted; web01-backup too; xweb01 untouched; restarted web01.");
        let text = String::from_utf8(out.text).unwrap();
        let label = r.pseudonymizer().label("web01");
        assert!(text.starts_with(&format!("{label} restarted")), "{text}");
        assert!(text.ends_with(&format!("restarted {label}.")), "{text}");
        assert!(text.contains(&format!("{label}-backup too")), "{text}");
        assert!(text.contains("xweb01 untouched"), "{text}");
    }

    #[test]
    fn short_names_are_learned_from_three_labels_and_replaced_as_whole_words() {
        let mut r = redactor(Policy::default());
        r.learn([&b"from 10.0.0.1,db-7.corp.acme.com; v1.2.3 app02.io web9x.prod.acme.com"[..]]);
        let label = r.pseudonymizer().label("db-7");
        let out = r.redact(b"DB-7 down (db-7): db-7.log xdb-7 db-77 app02 web9x\ndb-7");
        let text = String::from_utf8(out.text).unwrap();
        assert_eq!(
            text,
            format!(
                "{label} down ({label}): db-7.log xdb-7 db-77 app02 {}\n{label}",
                r.pseudonymizer().label("web9x")
            ),
            "two labels (app02.io) teach nothing; case does not matter"
        );
        // Within a compound joined by `-` (an archive's, a connection's or a backup's
        // name), the longest run of its parts that is a learned host.
        let mut r = redactor(Policy::default());
        r.learn([&b"db03.corp.acme.com web-01.corp.acme.com"[..]]);
        let text = b"sosreport-db03-2026-12-04-abcd/db03-bond0.nmconnection id=db03-bond0 \
                     db03-backup.tar db03_x web-01-old see sosreport-db03. xdb03-1 db03x-1 db-03 \
                     web-012-x alice-db03a";
        let out = String::from_utf8(r.redact(text).text).unwrap();
        let (db03, web01) = (
            r.pseudonymizer().label("db03"),
            r.pseudonymizer().label("web-01"),
        );
        assert_eq!(
            out,
            format!(
                "sosreport-{db03}-2026-12-04-abcd/{db03}-bond0.nmconnection id={db03}-bond0 \
                 {db03}-backup.tar db03_x {web01}-old see sosreport-{db03}. xdb03-1 db03x-1 db-03 \
                 web-012-x alice-db03a"
            )
        );
        // Learned users stay whole words: `deploy` of `pre-deploy` is no account.
        let mut r = redactor(Policy::default());
        r.learn([&b"user=deploy7 on db03.corp.acme.com"[..]]);
        let out = r.redact(b"pre-deploy7 deploy7");
        let found: Vec<Kind> = out.findings.iter().map(|f| f.kind).collect();
        assert_eq!(found, [Kind::Username]);
        // A short name with a hyphen and no digit is one; a word of letters alone is not
        // (`mail` of `mail.corp.acme.com` is an everyday word).
        let mut r = redactor(Policy::default());
        r.learn([&b"db-primary.corp.acme.com mail.corp.acme.com"[..]]);
        let out = r.redact(b"db-primary and mail");
        let text = String::from_utf8(out.text).unwrap();
        let label = r.pseudonymizer().label("db-primary");
        assert_eq!(text, format!("{label} and mail"));
        // A site of its own under a public suffix names no host within a site (a
        // project's `http2` of `http2.github.io`); a host under a site does, in any case.
        let mut r = redactor(Policy::default());
        r.learn([
            &b"see https://HTTP2.GitHub.io/faq, tc39.github.io, WEB-7.ACME.CO.UK, db-8.prod.local"
                [..],
        ]);
        let out = r.redact(b"http2 tc39 web-7 db-8");
        let text = String::from_utf8(out.text).unwrap();
        let label = |name: &str| r.pseudonymizer().label(name);
        assert_eq!(
            text,
            format!("http2 tc39 {} {}", label("web-7"), label("db-8"))
        );
        // Two labels name a host within a site under an internal suffix alone.
        let mut r = redactor(Policy::default());
        r.learn([
            &b"DATABASE_URL=postgres://db-prod-01.internal:5432/app nas-2.local app-3.io\n\
                    if op1.int < op2.int: home-1.home"[..],
        ]);
        let out = r.redact(b"ping db-prod-01; nas-2 app-3 op1 home-1");
        let text = String::from_utf8(out.text).unwrap();
        let label = |name: &str| r.pseudonymizer().label(name);
        assert_eq!(
            text,
            format!(
                "ping {}; {} app-3 op1 home-1",
                label("db-prod-01"),
                label("nas-2")
            )
        );
    }

    #[test]
    fn user_names_learned_in_context_are_replaced_where_they_stand_alone() {
        let mut r = redactor(Policy::default());
        r.learn([&b"pam_unix(sshd:session): session opened for user priyar by (uid=0)\n/home/kwatanabe/.bashrc"[..]]);
        // Lines no detector reads a user from: only the lesson replaces the names.
        let out = r.redact(
            b"su: (to root) priyar on pts/1\n\
              logind: priyar logged out\n\
              ticket: kwatanabe can't log in\n\
              systemd: Created slice for priyar.\n\
              priyar-old priyar.log xpriyar kwatanabe_2 Priyar",
        );
        let text = String::from_utf8(out.text).unwrap();
        let user = |name: &[u8]| r.pseudonymizer().pseudonym(Kind::Username, name);
        assert_eq!(
            text,
            format!(
                "su: (to root) {priyar} on pts/1\nlogind: {priyar} logged out\n\
                 ticket: {kw} can't log in\nsystemd: Created slice for {priyar}.\npriyar-old priyar.log xpriyar kwatanabe_2 Priyar",
                priyar = user(b"priyar"),
                kw = user(b"kwatanabe"),
            ),
            "the same pseudonym as in context; only whole words, as written"
        );
        let learned = out
            .findings
            .iter()
            .find(|f| f.kind == Kind::Username)
            .unwrap();
        assert_eq!(learned.category, Category::AccountIdentifiers);
    }

    #[test]
    fn accounts_and_hosts_of_prompts_keys_and_commands_are_learned() {
        let mut r = redactor(Policy::default());
        r.learn([&b"[jdoe@ws-jdoe-0142 ~]$ id\n[root@db03 ~]# id\n\
            ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9x asmith@laptop\n\
            psql -h db03 -U lchen billing\nsudo -u postgres vacuumdb"[..]]);
        let out =
            r.redact(b"jdoe logged in to ws-jdoe-0142 and db03; asmith on laptop; lchen; postgres");
        let text = String::from_utf8(out.text).unwrap();
        let user = |name: &[u8]| r.pseudonymizer().pseudonym(Kind::Username, name);
        let host = |name: &[u8]| r.pseudonymizer().pseudonym(Kind::Hostname, name);
        // A host without a digit or a hyphen (`laptop`) is a word too common to learn,
        // and `postgres`, `sudo`'s account, is no one's.
        assert_eq!(
            text,
            format!(
                "{jdoe} logged in to {ws} and {db03}; {asmith} on laptop; {lchen}; postgres",
                jdoe = user(b"jdoe"),
                ws = host(b"ws-jdoe-0142"),
                db03 = host(b"db03"),
                asmith = user(b"asmith"),
                lchen = user(b"lchen"),
            )
        );
    }

    #[test]
    fn allowed_and_reserved_names_are_neither_replaced_nor_learned() {
        let policy = Policy::parse(
            "allow = [\"appuser\", \"Grace Hopper\"]\nallow_domains = [\"vendor.com\"]",
        )
        .unwrap();
        let mut r = redactor(policy);
        r.learn([&b"/home/appuser/app user=alice\n\
                    ping web01.corp.vendor.com and web02.lab.example.com and db03.corp.acme.com\n\
                    From: Grace Hopper <gh@acme.io>\n"[..]]);
        let text = b"appuser restarted web01 web02 db03 for alice; Grace Hopper, Hopper; \
                     https://downloads.vendor.com/x www.example.org acme.io";
        let out = r.redact(text);
        let found: Vec<&[u8]> = out.findings.iter().map(|f| &text[f.start..f.end]).collect();
        assert_eq!(
            found,
            [&b"db03"[..], b"alice", b"acme.io"],
            "{}",
            String::from_utf8_lossy(&out.text)
        );
        // The same detectors, without the policy's list: only documentation's names stay.
        let mut plain = redactor(Policy::default());
        plain.learn([&b"/home/appuser/app\nping web01.corp.vendor.com web02.lab.example.com"[..]]);
        let out = plain.redact(b"appuser web01 web02 downloads.vendor.com www.example.org");
        let kinds: Vec<Kind> = out.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [Kind::Username, Kind::Hostname, Kind::Hostname],
            "{}",
            String::from_utf8_lossy(&out.text)
        );
    }

    #[test]
    fn a_directorys_domain_is_replaced_label_by_label_as_its_dotted_name_is() {
        let r = redactor(Policy::default());
        let text = b"bind_dn = CN=svc_sssd,OU=Service Accounts,DC=corp,DC=acme,DC=com\n\
                     base = dc=Corp, dc=Acme, dc=Com\nrealm corp.acme.com";
        let out = String::from_utf8(r.redact(text).text).unwrap();
        let host = r
            .pseudonymizer()
            .pseudonym(Kind::Hostname, b"corp.acme.com");
        let user = r.pseudonymizer().pseudonym(Kind::Username, b"svc_sssd");
        let labels: Vec<&str> = host.split('.').collect();
        assert_eq!(labels.len(), 4, "{host}");
        assert_eq!(
            out,
            format!(
                "bind_dn = CN={user},OU=Service Accounts,DC={}\n\
                 base = dc={}\nrealm {host}",
                labels.join(",DC="),
                labels.join(", dc=")
            )
        );
        // An allowed domain is kept in a directory's name too.
        let policy = Policy::parse("allow_domains = [\"acme.com\"]").unwrap();
        let out = redactor(policy).redact(b"OU=Staff,DC=corp,DC=acme,DC=com");
        assert_eq!(out.findings, []);
    }

    #[test]
    fn a_host_named_by_its_label_is_replaced_everywhere_as_its_short_name_is() {
        let mut r = redactor(Policy::default());
        r.learn([
            &b"   Host Name . . . . . : WS-JDOE-0142\nLogon Server: \\\\DC01\n\
                    hostname: web\nHost Name: FILESRV\nHOSTNAME=db03.corp.acme.com\n"[..],
        ]);
        // Learned as a short name is: with a digit or a hyphen (`FILESRV`, found where its
        // label names it, is not looked for alone).
        let text = b"WS-JDOE-0142$ joined; dc01 replied; web ok; FILESRV; db03 up";
        let out = String::from_utf8(r.redact(text).text).unwrap();
        let label = |name: &str| r.pseudonymizer().label(name);
        assert_eq!(
            out,
            format!(
                "{}$ joined; {} replied; web ok; FILESRV; {} up",
                label("ws-jdoe-0142"),
                label("dc01"),
                label("db03")
            )
        );
    }

    #[test]
    fn hosts_named_in_a_hosts_file_are_replaced_everywhere() {
        let mut r = redactor(Policy::default());
        r.learn([&b"127.0.0.1 localhost\n10.20.30.42  ldap02  # directory\n\
               10.0.0.1 dev eth0 lladdr 52:54:00:12:34:56 REACHABLE\n"[..]]);
        let out = String::from_utf8(r.redact(b"bind to ldap02 failed on eth0").text).unwrap();
        let label = r.pseudonymizer().label("ldap02");
        assert_eq!(out, format!("bind to {label} failed on eth0"));
    }

    #[test]
    fn the_host_of_syslog_lines_is_replaced_everywhere() {
        let mut r = redactor(Policy::default());
        r.learn([&b"Dec  5 10:00:01 web-03 sshd[991]: Accepted publickey\n\
               2026-12-05T10:00:02.120+00:00 db-07 kernel: eth0 up\n\
               Dec  5 10:00:03 mailhost postfix/smtpd[7]: connect\n\
               Dec  5 10:00:04 localhost CRON[5]: run\n\
               Summary: 3 hosts ok\n"[..]]);
        let out =
            String::from_utf8(r.redact(b"ping web-03 db-07 mailhost localhost").text).unwrap();
        let label = |name| r.pseudonymizer().label(name);
        // A name with a digit or a hyphen is learned, as a host named by its label is; a
        // word (`mailhost`) is not, nor `localhost`.
        assert_eq!(
            out,
            format!(
                "ping {} {} mailhost localhost",
                label("web-03"),
                label("db-07")
            )
        );
        let line = r.redact(b"Dec  5 10:00:01 web-03 sshd[991]: Accepted publickey");
        let line = String::from_utf8(line.text).unwrap();
        assert_eq!(
            line,
            format!(
                "Dec  5 10:00:01 {} sshd[991]: Accepted publickey",
                label("web-03")
            )
        );
    }

    #[test]
    fn a_node_a_kubectl_table_names_is_replaced_everywhere() {
        let mut r = redactor(Policy::default());
        r.learn([&b"NAME            STATUS   ROLES    AGE   VERSION\n\
               k8s-worker-03   Ready    <none>   40d   v1.29.3\n"[..]]);
        let out = String::from_utf8(r.redact(b"node k8s-worker-03 is cordoned").text).unwrap();
        let label = r.pseudonymizer().label("k8s-worker-03");
        assert_eq!(out, format!("node {label} is cordoned"));
    }

    #[test]
    fn a_second_run_leaves_host_pseudonyms_as_they_are() {
        let r = redactor(Policy::default());
        let once = r
            .redact(b"ping db1.corp.acme.com and acme.co.uk from 10.0.0.1")
            .text;
        let twice = r.redact(&once);
        let hosts =
            |findings: &[Finding]| findings.iter().filter(|f| f.kind == Kind::Hostname).count();
        assert_eq!(
            hosts(&r.redact(b"db1.corp.acme.com acme.co.uk").findings),
            2
        );
        assert_eq!(
            hosts(&twice.findings),
            0,
            "{}",
            String::from_utf8_lossy(&once)
        );
    }

    #[test]
    fn assigned_and_logged_user_names_are_learned() {
        let mut r = redactor(Policy::default());
        r.learn([&br#"{"username": "carol", "id": 7}
User: dave
dn: uid=erin,ou=people,dc=acme
login='frank' user=grace uid=1000
sshd[4]: Accepted publickey for heidi from 10.0.0.1 port 22"#[..]]);
        let out = r.redact(b"carol, dave, erin, frank, grace, heidi");
        let names: Vec<_> = out.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            names,
            [Kind::Username; 6],
            "{:?}",
            String::from_utf8_lossy(&out.text)
        );
    }

    #[test]
    fn shared_accounts_and_short_user_names_are_not_learned() {
        let mut r = redactor(Policy::default());
        r.learn([&b"user=postgres\nuser=www-data\nuser=al\nuser=test\n/home/node/app"[..]]);
        let text = b"systemctl restart postgres; chown www-data; al said; test passed; node up";
        assert_eq!(r.redact(text).text, text);
        // Prose and code name users in context too; learning those would replace every
        // `that` of a bundle.
        let mut r = redactor(Policy::default());
        r.learn([
            &b"inform user that HEAD moved; fix user input; waits for user action\n\
            API user: add and use; pub user: xt_entry__bindgen_ty_1,\nuid = uid as u32\n\
            script-login: don't\n\
            let uid = unsafe { geteuid() };\npub uid: __u32,\nuid: crate::ugid::Uid\n\
            user=Admin2 USER: Zed_9"[..],
        ]);
        let text =
            b"that input action add xt_entry__bindgen_ty_1 unsafe __u32 crate Admin2 Zed_9 don uid";
        assert_eq!(r.redact(text).text, text);
        // A name learned both as a host's short name and as a user is the host's.
        let mut r = redactor(Policy::default());
        r.learn([&b"user web01\nweb01.corp.acme.com"[..]]);
        let out = r.redact(b"web01 up");
        assert_eq!(out.findings[0].kind, Kind::Hostname);
    }

    #[test]
    fn lessons_stay_bounded_however_many_names_a_bundle_holds() {
        let names = |from: usize, to: usize| (from..to).map(|i| format!("user{i}")).collect();
        let words = |from: usize, to: usize| {
            (from..to)
                .map(|i| format!("Name{i}").into_bytes())
                .collect()
        };
        let mut lessons = Lessons {
            hosts: BTreeSet::new(),
            users: names(0, LEARNED_NAMES - 1),
            names: words(0, LEARNED_NAME_WORDS - 1),
            everyday: Everyday::default(),
        };
        lessons.append(Lessons {
            hosts: names(0, 3),
            users: names(LEARNED_NAMES, LEARNED_NAMES + 3),
            names: words(LEARNED_NAME_WORDS, LEARNED_NAME_WORDS + 3),
            everyday: Everyday::default(),
        });
        assert_eq!(lessons.users.len(), LEARNED_NAMES);
        assert_eq!(lessons.names.len(), LEARNED_NAME_WORDS);
        assert_eq!(lessons.hosts.len(), 3);
        let r = redactor(Policy::default());
        lessons.learn(
            r.detectors(),
            b"user zelda and user yolanda\nDear Priya Raman,",
        );
        assert_eq!(lessons.users.len(), LEARNED_NAMES);
        assert!(!lessons.users.contains("zelda"));
        assert_eq!(lessons.names.len(), LEARNED_NAME_WORDS);
        assert!(!lessons.names.contains(&b"Raman"[..]));
    }

    #[test]
    fn the_cache_answers_by_kind_and_value_and_starts_over_when_full() {
        let mut cache = Cache::default();
        cache.insert(Kind::Hostname, b"web01", b"h123456");
        cache.insert(Kind::Username, b"web01", b"user-abcdef");
        assert_eq!(cache.get(Kind::Hostname, b"web01"), Some(&b"h123456"[..]));
        assert_eq!(
            cache.get(Kind::Username, b"web01"),
            Some(&b"user-abcdef"[..])
        );
        assert_eq!(cache.get(Kind::Hostname, b"web02"), None);
        assert_eq!(cache.get(Kind::Email, b"web01"), None);
        for i in 0..CACHE_ENTRIES {
            cache.insert(
                Kind::Ipv4,
                format!("10.0.{}.{}", i / 256, i % 256).as_bytes(),
                b"x",
            );
        }
        assert_eq!(cache.get(Kind::Hostname, b"web01"), None, "started over");
        assert!(cache.entries.len() <= CACHE_ENTRIES);
        cache.insert(Kind::Email, &vec![b'a'; CACHE_BYTES], b"too big to keep");
        assert_eq!(cache.get(Kind::Email, &vec![b'a'; CACHE_BYTES]), None);
    }

    #[test]
    fn redacted_json_stays_json_when_values_follow_escaped_line_breaks() {
        let mut r = redactor(Policy::default());
        r.learn([&b"ping web01.corp.acme.com"[..]]);
        let json = br#"{"msg":"failed\n10.1.2.3 refused\ndb1.corp.acme.com down\nweb01 up\njane@acme.com","from":"tom\u00e1s@acme.com at caf\u00e9.acme.com"}"#;
        let out = String::from_utf8(r.redact(json).text).unwrap();
        let value: serde_json::Value = serde_json::from_str(&out).expect(&out);
        let msg = value["msg"].as_str().unwrap();
        for original in ["10.1.2.3", "db1", "acme.com", "web01", "jane"] {
            assert!(!msg.contains(original), "{original} left in {msg}");
        }
        assert_eq!(
            msg.lines().count(),
            5,
            "the escaped line breaks are kept: {msg}"
        );
        let from = value["from"].as_str().unwrap();
        for original in ["tom", "caf", "acme"] {
            assert!(!from.contains(original), "{original} left in {from}");
        }
    }

    #[test]
    fn a_later_run_with_the_same_map_reuses_pseudonyms() {
        let first = redactor(Policy::default());
        let a = first.redact(b"host db1.acme.com").text;
        let second = Redactor::new(Policy::default(), first.map().unwrap()).unwrap();
        assert_eq!(second.redact(b"host db1.acme.com").text, a);
    }
}
