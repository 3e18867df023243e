//! The owner's private map from pseudonyms back to original values, and its key.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use aho_corasick::{AhoCorasick, MatchKind};
use serde::{Deserialize, Serialize};

use crate::Category;

/// What one pseudonym stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEntry {
    pub original: String,
    pub category: Category,
    /// The detector's kind name (a static name for the built-in ones: no allocation).
    pub kind: Cow<'static, str>,
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
    #[error("cannot spill the map to a temporary file: {0}")]
    Spill(#[from] std::io::Error),
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
        reveal(
            text,
            self.entries
                .iter()
                .map(|(p, e)| (p.as_str(), e.original.as_str())),
        )
    }
}

/// Replaces each pseudonym in `text` with its value, counting replacements. A pseudonym
/// counts only as a whole token: `10.1.2.3` is not revealed inside `10.1.2.34`.
pub fn reveal<'a>(
    text: &[u8],
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Vec<u8>, usize) {
    let (pseudonyms, originals): (Vec<&str>, Vec<&str>) =
        pairs.into_iter().filter(|(p, _)| !p.is_empty()).unzip();
    if pseudonyms.is_empty() {
        return (text.to_vec(), 0);
    }
    let Ok(automaton) = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&pseudonyms)
    else {
        return (text.to_vec(), 0);
    };
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::with_capacity(text.len());
    let mut count = 0;
    let mut at = 0;
    for m in automaton.find_iter(text) {
        let inside = (m.start() > 0 && word(text[m.start() - 1]) && word(text[m.start()]))
            || (m.end() < text.len() && word(text[m.end()]) && word(text[m.end() - 1]));
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

/// How many bytes of entries a [`MapBook`] keeps in memory before it spills them to disk.
pub const SPILL_BYTES: usize = 24 << 20;

/// The pseudonyms issued during a run, on their way to the owner's map file.
///
/// A bundle can hold millions of distinct values, so the book keeps at most a bounded
/// amount of entries in memory; the rest wait in sorted runs in anonymous temporary files
/// and are merged, in pseudonym order and without duplicates, when the map is written. A
/// value met twice is written once; the first entry of a pseudonym wins (an existing map's
/// entries come first).
pub struct MapBook {
    version: u32,
    key: [u8; 32],
    /// Entries not spilled yet, unordered (sorted when spilled or written).
    pending: HashMap<String, MapEntry, foldhash::fast::RandomState>,
    pending_bytes: usize,
    runs: Vec<std::fs::File>,
    limit: usize,
    /// False when nobody will read the map: pseudonyms are derived, nothing is kept.
    recorded: bool,
}

/// Rough heap cost of one entry: three strings, their headers and the tree's node share.
fn entry_cost(pseudonym: &str, entry: &MapEntry) -> usize {
    128 + pseudonym.len() + entry.original.len() + entry.kind.len()
}

impl MapBook {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            version: 1,
            key,
            pending: HashMap::default(),
            pending_bytes: 0,
            runs: Vec::new(),
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
    pub fn from_map(map: PseudonymMap) -> Result<Self, MapError> {
        let mut book = Self::new(map.key_bytes()?);
        book.version = map.version;
        for (pseudonym, entry) in map.entries {
            book.insert(pseudonym, entry)?;
        }
        Ok(book)
    }

    /// Reads a map file entry by entry, so a map of any size loads in bounded memory.
    pub fn read(reader: impl std::io::Read, limit: usize) -> Result<Self, MapError> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
        let book = BookSeed { limit }.deserialize(&mut de)?;
        de.end()?;
        Ok(book)
    }

    pub fn key(&self) -> [u8; 32] {
        self.key
    }

    /// Records a pseudonym; spills the entries in memory to a sorted run when they grow
    /// past the limit.
    pub fn insert(&mut self, pseudonym: String, entry: MapEntry) -> Result<(), MapError> {
        if !self.recorded {
            return Ok(());
        }
        let cost = entry_cost(&pseudonym, &entry);
        match self.pending.entry(pseudonym) {
            Entry::Occupied(_) => return Ok(()),
            Entry::Vacant(vacant) => {
                vacant.insert(entry);
            }
        }
        self.pending_bytes += cost;
        if self.pending_bytes > self.limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), MapError> {
        use std::io::Write;
        let file = tempfile::tempfile()?;
        let mut out = std::io::BufWriter::new(file);
        // Drained, not dropped: the table keeps its capacity for the next entries.
        let mut lines: Vec<(String, MapEntry)> = self.pending.drain().collect();
        lines.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for line in lines {
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        self.runs.push(file);
        self.pending_bytes = 0;
        Ok(())
    }

    /// Calls `each` with every entry once, in pseudonym order.
    pub fn for_each(
        &self,
        mut each: impl FnMut(&str, &MapEntry) -> Result<(), MapError>,
    ) -> Result<(), MapError> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        use std::io::{BufRead, Seek};
        type Source<'a> = Box<dyn Iterator<Item = Result<(String, MapEntry), MapError>> + 'a>;
        let mut sources: Vec<Source<'_>> = Vec::with_capacity(self.runs.len() + 1);
        for run in &self.runs {
            let mut file = run.try_clone()?;
            file.rewind()?;
            sources.push(Box::new(
                std::io::BufReader::new(file)
                    .lines()
                    .map(|line| Ok(serde_json::from_str::<(String, MapEntry)>(&line?)?)),
            ));
        }
        let mut pending: Vec<(&String, &MapEntry)> = self.pending.iter().collect();
        pending.sort_unstable_by(|a, b| a.0.cmp(b.0));
        sources.push(Box::new(
            pending.into_iter().map(|(p, e)| Ok((p.clone(), e.clone()))),
        ));
        // Ties go to the older source: the first entry of a pseudonym wins.
        let mut heads: Vec<Option<MapEntry>> = vec![None; sources.len()];
        let mut heap = BinaryHeap::new();
        for (i, source) in sources.iter_mut().enumerate() {
            if let Some(next) = source.next() {
                let (pseudonym, entry) = next?;
                heads[i] = Some(entry);
                heap.push(Reverse((pseudonym, i)));
            }
        }
        let mut last: Option<String> = None;
        while let Some(Reverse((pseudonym, i))) = heap.pop() {
            let entry = heads[i]
                .take()
                .expect("every source in the heap has a head");
            if let Some(next) = sources[i].next() {
                let (next_pseudonym, next_entry) = next?;
                heads[i] = Some(next_entry);
                heap.push(Reverse((next_pseudonym, i)));
            }
            if last.as_deref() != Some(pseudonym.as_str()) {
                each(&pseudonym, &entry)?;
                last = Some(pseudonym);
            }
        }
        Ok(())
    }

    /// Writes the map file: the same JSON as [`PseudonymMap`], streamed.
    pub fn write_json(&self, mut out: impl std::io::Write) -> Result<(), MapError> {
        write!(
            out,
            "{{\n  \"version\": {},\n  \"key\": \"{}\",\n  \"entries\": {{",
            self.version,
            hex::encode(self.key)
        )?;
        let mut first = true;
        self.for_each(|pseudonym, entry| {
            out.write_all(if first { b"\n    " } else { b",\n    " })?;
            first = false;
            serde_json::to_writer(&mut out, pseudonym)?;
            out.write_all(b": ")?;
            serde_json::to_writer(&mut out, entry)?;
            Ok(())
        })?;
        out.write_all(if first { b"}\n}\n" } else { b"\n  }\n}\n" })?;
        Ok(())
    }

    /// Everything in memory at once, for small maps (a case's vault, tests).
    pub fn to_map(&self) -> Result<PseudonymMap, MapError> {
        let mut map = PseudonymMap::new(self.key);
        map.version = self.version;
        self.for_each(|pseudonym, entry| {
            map.entries.insert(pseudonym.to_owned(), entry.clone());
            Ok(())
        })?;
        Ok(map)
    }
}

struct BookSeed {
    limit: usize,
}

impl<'de> serde::de::DeserializeSeed<'de> for BookSeed {
    type Value = MapBook;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<MapBook, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for BookSeed {
    type Value = MapBook;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Casebridge pseudonym map")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<MapBook, A::Error> {
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
        book.version = version.ok_or_else(|| A::Error::missing_field("version"))?;
        let key = key.ok_or_else(|| A::Error::missing_field("key"))?;
        book.key = hex::decode(&key)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| A::Error::custom("the key is not 32 bytes of hex"))?;
        if !entries {
            return Err(A::Error::missing_field("entries"));
        }
        Ok(book)
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
        let mut book = MapBook::new([7; 32]).with_limit(600);
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
            r#"{"version":1,"entries":{}}"#,
            r#"{"version":1,"key":"abcd","entries":{}}"#,
            r#"{"version":1,"key":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
            r#"{"version":1,"key":"0000000000000000000000000000000000000000000000000000000000000000","entries":{"p":{"original":1}}}"#,
            r#"{"version":1,"key":"0000000000000000000000000000000000000000000000000000000000000000","entries":{}} trailing"#,
        ] {
            assert!(
                MapBook::read(text.as_bytes(), SPILL_BYTES).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn an_unrecorded_book_keeps_nothing_new() {
        let mut book = MapBook::new([1; 32]).unrecorded();
        book.insert("p".into(), entry("v")).unwrap();
        assert!(book.to_map().unwrap().entries.is_empty());
    }
}
