//! The owner's private map from pseudonyms back to original values, and its key.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

use crate::detect::word_byte;
use crate::Category;

/// What one pseudonym stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEntry {
    pub original: String,
    pub category: Category,
    /// The detector's kind name (a static name for the built-in ones: no allocation).
    pub kind: Cow<'static, str>,
}

/// The map format this version writes. Format 2 (2026-12-03): names, users and host labels
/// have 40-bit tags, and MAC addresses and same-shape numbers are permuted under the key,
/// where format 1 hashed them; address tables are derived another way. Format 3
/// (2026-12-04): a host's public suffix is a tagged label of its own, where format 2 made
/// every suffix `.example` and gave `acme.com` and `acme.org` one pseudonym. Format 4
/// (2026-12-05): a same-shape value that reads as hexadecimal (a tenant's UUID, a Twilio
/// SID) keeps hexadecimal digits, where format 3 drew its letters from `a`–`z`. A map of
/// an earlier format still reveals, but its key gives some values other pseudonyms now,
/// so a run must not extend it.
pub const MAP_VERSION: u32 = 4;

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
    #[error("cannot spill the map to a temporary file: {0}")]
    Spill(#[from] std::io::Error),
    /// A map of an earlier format: it still reveals ([`PseudonymMap`]), but its key now
    /// gives some values other pseudonyms, so no run may add to it.
    #[error("the map was written in the earlier format {0}; this version writes format {MAP_VERSION}, whose pseudonyms differ")]
    EarlierFormat(u32),
    #[error("the map was written in format {0} by a newer version; this one writes format {MAP_VERSION}")]
    NewerFormat(u32),
}

impl PseudonymMap {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            version: MAP_VERSION,
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
        reveal(
            text,
            self.entries
                .iter()
                .map(|(p, e)| (p.as_str(), e.original.as_str())),
        )
    }
}

/// Replaces each pseudonym in `text` with its value, counting replacements. A pseudonym
/// counts only as a whole token: `10.1.2.3` is not revealed inside `10.1.2.34`. A value
/// its pseudonym only wrote another way has nothing to reveal, and is left alone: the
/// loopback and unspecified addresses keep their value, so `0:0:0:0:0:0:0:0` is written
/// `::`, and revealing that would rewrite every `::` of a reply (`Pod::Man`).
pub fn reveal<'a>(
    text: &[u8],
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Vec<u8>, usize) {
    let same = |pseudonym: &str, original: &str| {
        pseudonym == original
            || pseudonym
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| original.parse() == Ok(ip))
    };
    let (pseudonyms, originals): (Vec<&str>, Vec<&str>) = pairs
        .into_iter()
        .filter(|(p, o)| !p.is_empty() && !same(p, o))
        .unzip();
    if pseudonyms.is_empty() {
        return (text.to_vec(), 0);
    }
    let Ok(automaton) = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&pseudonyms)
    else {
        return (text.to_vec(), 0);
    };
    let mut out = Vec::with_capacity(text.len());
    let mut count = 0;
    let mut at = 0;
    for m in automaton.find_iter(text) {
        let inside = (m.start() > 0
            && word_byte(text[m.start() - 1])
            && word_byte(text[m.start()]))
            || (m.end() < text.len() && word_byte(text[m.end()]) && word_byte(text[m.end() - 1]));
        if inside {
            continue;
        }
        out.extend_from_slice(&text[at..m.start()]);
        out.extend_from_slice(originals[m.pattern().as_usize()].as_bytes());
        at = m.end();
        count += 1;
    }
    out.extend_from_slice(&text[at..]);
    (out, count)
}

/// How many bytes of the map file are formatted before they are written.
const BLOCK_BYTES: usize = 64 * 1024;

/// How many bytes of entries a [`MapBook`] keeps in memory before it spills them to disk.
pub const SPILL_BYTES: usize = 24 << 20;

/// The pseudonyms issued during a run, on their way to the owner's map file.
///
/// A bundle can hold millions of distinct values, so the book keeps at most a bounded
/// amount of entries in memory; the rest wait in sorted runs in anonymous temporary files
/// and are merged, in pseudonym order and without duplicates, when the map is written. A
/// value met twice is written once; the first entry of a pseudonym wins (an existing map's
/// entries come first).
///
/// Recording an entry costs no allocation: its bytes are appended to one buffer, and a
/// spilled run is a compact binary file read back into reused buffers, so a run with
/// millions of new values spends its time finding them, not filing them.
pub struct MapBook {
    key: [u8; 32],
    /// The bytes of the entries not spilled yet: pseudonym, original and kind, one after
    /// the other.
    arena: Vec<u8>,
    /// Where each of those entries lies in `arena`, in the order they were recorded.
    pending: Vec<Pending>,
    runs: Vec<std::fs::File>,
    /// Entries left out of spilled runs because their pseudonym was already taken by
    /// another original.
    spilled_collisions: usize,
    limit: usize,
    /// False when nobody will read the map: pseudonyms are derived, nothing is kept.
    recorded: bool,
}

/// One recorded entry in [`MapBook::arena`].
#[derive(Clone, Copy)]
struct Pending {
    /// The pseudonym's first sixteen bytes, big-endian and zero-padded: sorting compares
    /// these first and reads the arena only on a tie (pseudonyms of one kind share their
    /// first eight: `+1 000 0`, `user-3a5`).
    head: u128,
    /// Where in the arena; the arena spills long before 4 GiB.
    at: u32,
    pseudonym: u32,
    original: u32,
    kind: u8,
    category: u8,
}

impl Pending {
    fn pseudonym<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let at = self.at as usize;
        &arena[at..at + self.pseudonym as usize]
    }

    /// Where its pseudonym, original and kind lie in the arena.
    fn ranges(&self) -> [std::ops::Range<usize>; 3] {
        let at = self.at as usize;
        let original = at + self.pseudonym as usize;
        let kind = original + self.original as usize;
        [
            at..original,
            original..kind,
            kind..kind + usize::from(self.kind),
        ]
    }

    fn parts<'a>(&self, arena: &'a [u8]) -> (&'a [u8], &'a [u8], &'a [u8]) {
        let [p, o, k] = self.ranges();
        (&arena[p], &arena[o], &arena[k])
    }

    /// The entry as text, from an arena checked as UTF-8 once: every part went in as
    /// text, so each lies between character boundaries.
    fn entry<'a>(&self, arena: &'a str) -> Result<EntryRef<'a>, MapError> {
        let [p, o, k] = self.ranges();
        let part = |range: std::ops::Range<usize>| arena.get(range).ok_or_else(not_text);
        Ok(EntryRef {
            pseudonym: part(p)?,
            original: part(o)?,
            category: category_of(self.category)?,
            kind: part(k)?,
        })
    }
}

/// One entry read back, in buffers reused from entry to entry.
#[derive(Default)]
struct Record {
    pseudonym: Vec<u8>,
    original: Vec<u8>,
    kind: Vec<u8>,
    category: u8,
}

/// A sorted source of entries while merging: a spilled run or the entries in memory.
enum Source<'a> {
    Run(std::io::BufReader<std::fs::File>),
    Memory(std::vec::IntoIter<Pending>, &'a [u8]),
}

impl Source<'_> {
    /// Reads the next entry into `record`; false at the end.
    fn next_into(&mut self, record: &mut Record) -> Result<bool, MapError> {
        match self {
            Source::Memory(entries, arena) => {
                let Some(entry) = entries.next() else {
                    return Ok(false);
                };
                let (p, o, k) = entry.parts(arena);
                for (to, from) in [
                    (&mut record.pseudonym, p),
                    (&mut record.original, o),
                    (&mut record.kind, k),
                ] {
                    to.clear();
                    to.extend_from_slice(from);
                }
                record.category = entry.category;
                Ok(true)
            }
            Source::Run(reader) => {
                use std::io::Read;
                let mut head = [0u8; 10];
                match reader.read_exact(&mut head[..1]) {
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
                    other => other?,
                }
                reader.read_exact(&mut head[1..])?;
                let pseudonym = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes"));
                let original = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
                record.kind.resize(usize::from(head[8]), 0);
                record.category = head[9];
                record.pseudonym.resize(pseudonym as usize, 0);
                record.original.resize(original as usize, 0);
                reader.read_exact(&mut record.pseudonym)?;
                reader.read_exact(&mut record.original)?;
                reader.read_exact(&mut record.kind)?;
                Ok(true)
            }
        }
    }
}

/// One entry of the map as the book hands it out, borrowed.
pub struct EntryRef<'a> {
    pub pseudonym: &'a str,
    pub original: &'a str,
    pub category: Category,
    pub kind: &'a str,
}

/// Whether a map of `version` may be extended: only one of [`MAP_VERSION`].
fn same_format(version: u32) -> Result<(), MapError> {
    match version {
        MAP_VERSION => Ok(()),
        earlier if earlier < MAP_VERSION => Err(MapError::EarlierFormat(earlier)),
        newer => Err(MapError::NewerFormat(newer)),
    }
}

/// Whether two originals behind one pseudonym, found as `kind`, are two values, not one
/// value written another way: host names and email addresses are pseudonymized in small
/// letters (`EXAMPLE.COM`, `example.com`), IPv6 addresses as the address they parse to
/// (`fd00::`, `fd00::0`), and revealing the first spelling loses nothing.
fn other_value(kind: &[u8], a: &[u8], b: &[u8]) -> bool {
    let address = |text: &[u8]| {
        std::str::from_utf8(text)
            .ok()?
            .parse::<std::net::Ipv6Addr>()
            .ok()
    };
    if kind == b"ipv6" {
        if let (Some(a), Some(b)) = (address(a), address(b)) {
            return a != b;
        }
    }
    !a.eq_ignore_ascii_case(b)
}

fn category_index(category: Category) -> u8 {
    Category::ALL
        .iter()
        .position(|c| *c == category)
        .expect("every category is in ALL") as u8
}

fn category_of(index: u8) -> Result<Category, MapError> {
    Category::ALL
        .get(usize::from(index))
        .copied()
        .ok_or_else(|| {
            MapError::Spill(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a spilled map entry has no category",
            ))
        })
}

/// `bytes` (a spilled entry read back, the arena) as text, or the error of an entry that is
/// not.
fn text_in(bytes: &[u8]) -> Result<&str, MapError> {
    std::str::from_utf8(bytes).map_err(|_| not_text())
}

fn not_text() -> MapError {
    MapError::Spill(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "a map entry is not UTF-8",
    ))
}

impl MapBook {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key,
            arena: Vec::new(),
            pending: Vec::new(),
            runs: Vec::new(),
            spilled_collisions: 0,
            limit: SPILL_BYTES,
            recorded: true,
        }
    }

    /// Keeps the key (and what was read so far), records no new entries: for runs that
    /// write no map.
    pub fn unrecorded(mut self) -> Self {
        self.recorded = false;
        self
    }

    /// Spills to disk once the entries in memory cost more than `bytes`.
    pub fn with_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes.max(1);
        self
    }

    /// A book that starts with every entry of an in-memory map.
    /// Refused for a map of another format (see [`MAP_VERSION`]).
    pub fn from_map(map: PseudonymMap) -> Result<Self, MapError> {
        same_format(map.version)?;
        let mut book = Self::new(map.key_bytes()?);
        for (pseudonym, entry) in map.entries {
            book.insert(pseudonym, entry)?;
        }
        Ok(book)
    }

    /// Reads a map file entry by entry, so a map of any size loads in bounded memory.
    pub fn read(reader: impl std::io::Read, limit: usize) -> Result<Self, MapError> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
        let (book, version) = BookSeed { limit }.deserialize(&mut de)?;
        de.end()?;
        same_format(version)?;
        Ok(book)
    }

    pub fn key(&self) -> [u8; 32] {
        self.key
    }

    /// Records a pseudonym; spills the entries in memory to a sorted run when they grow
    /// past the limit.
    pub fn insert(&mut self, pseudonym: String, entry: MapEntry) -> Result<(), MapError> {
        self.record(
            &pseudonym,
            entry.original.as_bytes(),
            entry.category,
            &entry.kind,
        )
    }

    /// Records a pseudonym from borrowed parts (no allocation but the buffer's growth);
    /// an original that is not UTF-8 is kept with replacement characters, as JSON needs.
    pub fn record(
        &mut self,
        pseudonym: &str,
        original: &[u8],
        category: Category,
        kind: &str,
    ) -> Result<(), MapError> {
        if !self.recorded {
            return Ok(());
        }
        let original = crate::text_of(original);
        // Lengths are stored in four bytes (a kind's in one); values are far smaller.
        let (Ok(at), Ok(p), Ok(o), Ok(k)) = (
            u32::try_from(self.arena.len()),
            u32::try_from(pseudonym.len()),
            u32::try_from(original.len()),
            u8::try_from(kind.len()),
        ) else {
            return Err(MapError::Spill(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a map entry is too long",
            )));
        };
        let mut head = [0u8; 16];
        let lead = pseudonym.len().min(16);
        head[..lead].copy_from_slice(&pseudonym.as_bytes()[..lead]);
        self.pending.push(Pending {
            head: u128::from_be_bytes(head),
            at,
            pseudonym: p,
            original: o,
            kind: k,
            category: category_index(category),
        });
        self.arena.extend_from_slice(pseudonym.as_bytes());
        self.arena.extend_from_slice(original.as_bytes());
        self.arena.extend_from_slice(kind.as_bytes());
        if self.arena.len() + self.pending.len() * std::mem::size_of::<Pending>() > self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// The entries in memory in pseudonym order, the first of each pseudonym only, and how
    /// many of those left out stood for another original than the one kept.
    fn sorted_pending(&self) -> (Vec<Pending>, usize) {
        let arena = &self.arena;
        let mut sorted = self.pending.clone();
        // Of entries with one pseudonym, the first recorded (lowest in the arena) first.
        sorted.sort_unstable_by(|a, b| {
            a.head
                .cmp(&b.head)
                .then_with(|| a.pseudonym(arena).cmp(b.pseudonym(arena)))
                .then(a.at.cmp(&b.at))
        });
        let mut collisions = 0;
        sorted.dedup_by(|b, a| {
            let (pa, oa, _) = a.parts(arena);
            let (pb, ob, kind) = b.parts(arena);
            let same = pa == pb;
            collisions += usize::from(same && other_value(kind, oa, ob));
            same
        });
        (sorted, collisions)
    }

    fn spill(&mut self) -> Result<(), MapError> {
        use std::io::Write;
        let file = tempfile::tempfile()?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        let (sorted, collisions) = self.sorted_pending();
        self.spilled_collisions += collisions;
        for entry in sorted {
            let (p, o, k) = entry.parts(&self.arena);
            let mut head = [0u8; 10];
            head[0..4].copy_from_slice(&entry.pseudonym.to_le_bytes());
            head[4..8].copy_from_slice(&entry.original.to_le_bytes());
            head[8] = entry.kind;
            head[9] = entry.category;
            out.write_all(&head)?;
            out.write_all(p)?;
            out.write_all(o)?;
            out.write_all(k)?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        self.runs.push(file);
        // Cleared, not dropped: the buffers keep their capacity for the next entries.
        self.arena.clear();
        self.pending.clear();
        Ok(())
    }

    /// Calls `each` with every entry once, in pseudonym order. Returns how many recorded
    /// entries were left out because their pseudonym already stood for another original
    /// (a collision: the map reveals the first original of each pseudonym).
    pub fn for_each(
        &self,
        mut each: impl FnMut(EntryRef<'_>) -> Result<(), MapError>,
    ) -> Result<usize, MapError> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        use std::io::Seek;
        if self.runs.is_empty() {
            // Nothing spilled (a map under `limit`): the sorted entries are read where
            // they lie, without the merge's copies.
            let (pending, collisions) = self.sorted_pending();
            let arena = text_in(&self.arena)?;
            for entry in &pending {
                each(entry.entry(arena)?)?;
            }
            return Ok(collisions + self.spilled_collisions);
        }
        let mut sources: Vec<Source<'_>> = Vec::with_capacity(self.runs.len() + 1);
        for run in &self.runs {
            let mut file = run.try_clone()?;
            file.rewind()?;
            sources.push(Source::Run(std::io::BufReader::with_capacity(
                1 << 16,
                file,
            )));
        }
        let (pending, mut collisions) = self.sorted_pending();
        collisions += self.spilled_collisions;
        sources.push(Source::Memory(pending.into_iter(), &self.arena));
        // The heap holds each source's next pseudonym; its record waits in `heads`. Ties
        // go to the older source: the first entry of a pseudonym wins.
        let mut heads: Vec<Record> = Vec::with_capacity(sources.len());
        let mut heap = BinaryHeap::new();
        for (i, source) in sources.iter_mut().enumerate() {
            let mut record = Record::default();
            if source.next_into(&mut record)? {
                heap.push(Reverse((std::mem::take(&mut record.pseudonym), i)));
            }
            heads.push(record);
        }
        let mut last: Vec<u8> = Vec::new();
        let mut last_original: Vec<u8> = Vec::new();
        let mut first = true;
        while let Some(Reverse((pseudonym, i))) = heap.pop() {
            let head = &heads[i];
            if !first && last == pseudonym {
                collisions += usize::from(other_value(&head.kind, &head.original, &last_original));
            } else {
                each(EntryRef {
                    pseudonym: text_in(&pseudonym)?,
                    original: text_in(&head.original)?,
                    category: category_of(head.category)?,
                    kind: text_in(&head.kind)?,
                })?;
                last_original.clear();
                last_original.extend_from_slice(&head.original);
                first = false;
            }
            // The popped pseudonym's buffer becomes `last`; the old `last` is reused for
            // this source's next entry.
            let mut spare = std::mem::replace(&mut last, pseudonym);
            let head = &mut heads[i];
            std::mem::swap(&mut head.pseudonym, &mut spare);
            if sources[i].next_into(head)? {
                heap.push(Reverse((std::mem::take(&mut head.pseudonym), i)));
            }
        }
        Ok(collisions)
    }

    /// Writes the map file: the same JSON as [`PseudonymMap`], streamed. Returns the number
    /// of collisions (see [`MapBook::for_each`]).
    pub fn write_json(&self, mut out: impl std::io::Write) -> Result<usize, MapError> {
        write!(
            out,
            "{{\n  \"version\": {},\n  \"key\": \"{}\",\n  \"entries\": {{",
            MAP_VERSION,
            hex::encode(self.key)
        )?;
        let mut first = true;
        // Entries are formatted into a block in memory and written a block at a time:
        // a million entries would otherwise be ten million small writes.
        let mut block: Vec<u8> = Vec::with_capacity(BLOCK_BYTES + 1024);
        let collisions = self.for_each(|entry| {
            block.extend_from_slice(if first { b"\n    " } else { b",\n    " });
            first = false;
            serde_json::to_writer(&mut block, entry.pseudonym)?;
            block.extend_from_slice(b": {\"original\":");
            serde_json::to_writer(&mut block, entry.original)?;
            block.extend_from_slice(b",\"category\":\"");
            block.extend_from_slice(entry.category.as_str().as_bytes());
            block.extend_from_slice(b"\",\"kind\":");
            serde_json::to_writer(&mut block, entry.kind)?;
            block.push(b'}');
            if block.len() >= BLOCK_BYTES {
                out.write_all(&block)?;
                block.clear();
            }
            Ok(())
        })?;
        block.extend_from_slice(if first { b"}\n}\n" } else { b"\n  }\n}\n" });
        out.write_all(&block)?;
        Ok(collisions)
    }

    /// Everything in memory at once, for small maps (a case's vault, tests).
    pub fn to_map(&self) -> Result<PseudonymMap, MapError> {
        let mut map = PseudonymMap::new(self.key);
        self.for_each(|entry| {
            map.entries.insert(
                entry.pseudonym.to_owned(),
                MapEntry {
                    original: entry.original.to_owned(),
                    category: entry.category,
                    kind: Cow::Owned(entry.kind.to_owned()),
                },
            );
            Ok(())
        })?;
        Ok(map)
    }
}

struct BookSeed {
    limit: usize,
}

/// A book and the format its file says it is in.
impl<'de> serde::de::DeserializeSeed<'de> for BookSeed {
    type Value = (MapBook, u32);
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for BookSeed {
    type Value = (MapBook, u32);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Casebridge pseudonym map")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut access: A,
    ) -> Result<Self::Value, A::Error> {
        use serde::de::Error;
        let mut book = MapBook::new([0; 32]).with_limit(self.limit);
        let (mut version, mut key, mut entries) = (None, None, false);
        while let Some(field) = access.next_key::<String>()? {
            match field.as_str() {
                "version" => version = Some(access.next_value::<u32>()?),
                "key" => key = Some(access.next_value::<String>()?),
                "entries" => {
                    access.next_value_seed(EntriesSeed(&mut book))?;
                    entries = true;
                }
                _ => {
                    access.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let version = version.ok_or_else(|| A::Error::missing_field("version"))?;
        let key = key.ok_or_else(|| A::Error::missing_field("key"))?;
        book.key = hex::decode(&key)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| A::Error::custom("the key is not 32 bytes of hex"))?;
        if !entries {
            return Err(A::Error::missing_field("entries"));
        }
        Ok((book, version))
    }
}

struct EntriesSeed<'b>(&'b mut MapBook);

impl<'de> serde::de::DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for EntriesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of pseudonyms")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        while let Some((pseudonym, entry)) = access.next_entry::<String, MapEntry>()? {
            self.0
                .insert(pseudonym, entry)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(original: &str) -> MapEntry {
        MapEntry {
            original: original.into(),
            category: Category::NetworkIdentifiers,
            kind: "ipv4".into(),
        }
    }

    /// A book that spills after every few entries, filled in an order unlike the final one.
    fn spilling_book(count: usize) -> MapBook {
        let mut book = MapBook::new([7; 32]).with_limit(300);
        for i in (0..count).rev() {
            book.insert(format!("p{i:05}"), entry(&format!("v{i}")))
                .unwrap();
        }
        book
    }

    #[test]
    fn a_spilled_book_writes_every_entry_once_in_order() {
        let book = spilling_book(500);
        assert!(book.runs.len() > 50, "the limit must force spills");
        let mut json = Vec::new();
        book.write_json(&mut json).unwrap();
        let map = PseudonymMap::parse(std::str::from_utf8(&json).unwrap()).unwrap();
        assert_eq!(map.entries.len(), 500);
        assert_eq!(map.entries["p00042"].original, "v42");
        assert_eq!(map.key_bytes().unwrap(), [7; 32]);
        assert_eq!(book.to_map().unwrap(), map);
    }

    #[test]
    fn the_first_entry_of_a_pseudonym_wins_across_spills() {
        let mut book = MapBook::new([7; 32]).with_limit(1);
        book.insert("same".into(), entry("first")).unwrap();
        book.insert("other".into(), entry("x")).unwrap();
        book.insert("same".into(), entry("second")).unwrap();
        let map = book.to_map().unwrap();
        assert_eq!(map.entries.len(), 2);
        assert_eq!(map.entries["same"].original, "first");
    }

    #[test]
    fn a_pseudonym_that_stands_for_two_values_is_counted() {
        // In memory, across spilled runs, and spilled within one run.
        for limit in [1 << 20, 1, 60] {
            let mut book = MapBook::new([7; 32]).with_limit(limit);
            for (pseudonym, original) in [
                ("p1", "a"),
                ("p2", "b"),
                ("p1", "a"),
                ("p1", "c"),
                ("p2", "b"),
                ("p3", "d"),
                ("p1", "e"),
            ] {
                book.insert(pseudonym.into(), entry(original)).unwrap();
            }
            let mut json = Vec::new();
            assert_eq!(book.write_json(&mut json).unwrap(), 2, "limit {limit}");
            let map = PseudonymMap::parse(std::str::from_utf8(&json).unwrap()).unwrap();
            assert_eq!(map.entries["p1"].original, "a", "limit {limit}");
            assert_eq!(map.entries.len(), 3);
        }
        // The same value met again (another worker, a forgotten cache entry), or written
        // in other letters' case, is no collision.
        for limit in [1 << 20, 1] {
            let mut book = MapBook::new([7; 32]).with_limit(limit);
            book.insert("p1".into(), entry("a")).unwrap();
            book.insert("p1".into(), entry("a")).unwrap();
            book.insert("p2".into(), entry("Acme.COM")).unwrap();
            book.insert("p2".into(), entry("acme.com")).unwrap();
            let ipv6 = |original: &str| MapEntry {
                kind: "ipv6".into(),
                ..entry(original)
            };
            book.insert("p3".into(), ipv6("fd00::")).unwrap();
            book.insert("p3".into(), ipv6("FD00:0::0")).unwrap();
            assert_eq!(book.write_json(Vec::new()).unwrap(), 0, "limit {limit}");
            // Two addresses are two values, however they are written.
            let mut book = MapBook::new([7; 32]).with_limit(limit);
            book.insert("p3".into(), ipv6("fd00::")).unwrap();
            book.insert("p3".into(), ipv6("fd00::1")).unwrap();
            assert_eq!(book.write_json(Vec::new()).unwrap(), 1, "limit {limit}");
        }
    }

    #[test]
    fn entries_come_back_byte_for_byte_spilled_or_not() {
        for limit in [1, 1 << 20] {
            let mut book = MapBook::new([7; 32]).with_limit(limit);
            let original = "Zoë \"O'Brien\" \\ 東京\n";
            book.record("p1", original.as_bytes(), Category::Contact, "person_name")
                .unwrap();
            book.record("p0", b"", Category::GovernmentId, "custom")
                .unwrap();
            assert_eq!(book.runs.len(), if limit == 1 { 2 } else { 0 });
            let map = book.to_map().unwrap();
            assert_eq!(map.entries["p1"].original, original);
            assert_eq!(map.entries["p1"].category, Category::Contact);
            assert_eq!(map.entries["p1"].kind, "person_name");
            assert_eq!(map.entries["p0"].category, Category::GovernmentId);
            assert_eq!(map.entries["p0"].kind, "custom");
            let mut json = Vec::new();
            book.write_json(&mut json).unwrap();
            assert_eq!(
                PseudonymMap::parse(std::str::from_utf8(&json).unwrap()).unwrap(),
                map
            );
        }
    }

    #[test]
    fn an_entry_too_long_to_file_is_refused() {
        let mut book = MapBook::new([7; 32]);
        let kind = "k".repeat(300);
        assert!(book.record("p", b"v", Category::Contact, &kind).is_err());
        assert!(book.to_map().unwrap().entries.is_empty());
    }

    #[test]
    fn entries_come_out_in_byte_order_however_long_their_common_prefix() {
        let names = [
            "user-abcdef@h1.example",
            "user-abcdef@h1.example.net",
            "user-abcdef@h1.example.com",
            "user-abcdef",
            "user-abcdeg",
            "user-abcdef@h0.example",
            "u",
            "user-abc",
            "10.200.3.4",
            "10.20.3.4",
            "user-abcdef",
        ];
        for limit in [1, 1 << 20] {
            let mut book = MapBook::new([7; 32]).with_limit(limit);
            for name in names {
                book.record(name, b"v", Category::Contact, "email").unwrap();
            }
            let mut seen = Vec::new();
            book.for_each(|entry| {
                seen.push(entry.pseudonym.to_owned());
                Ok(())
            })
            .unwrap();
            let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            expected.sort();
            expected.dedup();
            assert_eq!(seen, expected, "spilling after {limit} bytes");
        }
    }

    #[test]
    fn an_empty_book_writes_a_valid_map() {
        let mut json = Vec::new();
        MapBook::new([1; 32]).write_json(&mut json).unwrap();
        let map = PseudonymMap::parse(std::str::from_utf8(&json).unwrap()).unwrap();
        assert!(map.entries.is_empty());
    }

    #[test]
    fn a_map_file_is_read_entry_by_entry_and_written_back_unchanged() {
        let mut original = PseudonymMap::new([9; 32]);
        for i in 0..300 {
            original
                .entries
                .insert(format!("q{i}"), entry(&format!("\"quoted\" {i}")));
        }
        let book = MapBook::read(original.to_json().as_bytes(), 500).unwrap();
        assert!(!book.runs.is_empty(), "reading spills too");
        assert_eq!(book.key(), [9; 32]);
        assert_eq!(book.to_map().unwrap(), original);
    }

    #[test]
    fn a_malformed_map_file_is_refused() {
        for text in [
            "",
            "[]",
            r#"{"version":2,"entries":{}}"#,
            r#"{"version":2,"key":"abcd","entries":{}}"#,
            r#"{"version":2,"key":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
            r#"{"version":2,"key":"0000000000000000000000000000000000000000000000000000000000000000","entries":{"p":{"original":1}}}"#,
            r#"{"version":2,"key":"0000000000000000000000000000000000000000000000000000000000000000","entries":{}} trailing"#,
        ] {
            assert!(
                MapBook::read(text.as_bytes(), SPILL_BYTES).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_map_of_another_format_reveals_but_is_not_extended() {
        let key = "07".repeat(32);
        let text = |version: u32| {
            format!(
                r#"{{"version":{version},"key":"{key}","entries":{{"p":{{"original":"v","category":"CONTACT","kind":"k"}}}}}}"#
            )
        };
        assert!(MapBook::read(text(MAP_VERSION).as_bytes(), SPILL_BYTES).is_ok());
        for (version, earlier) in [(1, true), (MAP_VERSION + 1, false)] {
            let read = MapBook::read(text(version).as_bytes(), SPILL_BYTES);
            let map = PseudonymMap::parse(&text(version)).unwrap();
            assert_eq!(map.reveal(b"p!"), (b"v!".to_vec(), 1));
            let from_map = MapBook::from_map(map);
            for error in [read.err(), from_map.err()] {
                match error {
                    Some(MapError::EarlierFormat(v)) if earlier => assert_eq!(v, version),
                    Some(MapError::NewerFormat(v)) if !earlier => assert_eq!(v, version),
                    other => panic!("format {version}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn an_address_written_only_another_way_is_not_revealed() {
        let pairs = [
            ("::", "0:0:0:0:0:0:0:0"),
            ("::1", "0:0:0:0:0:0:0:1"),
            ("127.0.0.1", "127.0.0.1"),
            ("10.9.9.9", "10.0.0.1"),
            ("fd00::9", "fd00::1"),
        ];
        let (text, count) = reveal(b"Pod::Man on ::1, 127.0.0.1, 10.9.9.9 and fd00::9", pairs);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "Pod::Man on ::1, 127.0.0.1, 10.0.0.1 and fd00::1"
        );
        assert_eq!(count, 2);
    }

    #[test]
    fn an_unrecorded_book_keeps_nothing_new() {
        let mut book = MapBook::new([1; 32]).unrecorded();
        book.insert("p".into(), entry("v")).unwrap();
        assert!(book.to_map().unwrap().entries.is_empty());
    }
}
