//! Support bundles as archives: tar (plain, gzip, xz, zstd), zip, and single compressed
//! files, nested up to a depth limit. An archive in gives an archive out, with every text
//! entry redacted and every entry name rewritten.
//!
//! Hostile archives are expected: entries that climb out of the tree (`..`, absolute
//! paths), links, devices and decompression bombs are refused or left out and listed;
//! invalid UTF-8 is handled byte-wise.

use crate::redactor::Lessons;
use std::cell::Cell;
use std::io::{self, Cursor, Read, Write};
use std::path::{Component, Path};
use std::rc::Rc;

use crate::stream::{learn_stream, redact_stream, StreamStats};
use crate::Redactor;

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Tar,
    TarGz,
    TarXz,
    TarZst,
    Zip,
    Gz,
    Xz,
    Zst,
}

/// Bounds on what an archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Archives inside archives, counting the outer one.
    pub max_depth: u32,
    /// Total bytes all decompression may produce.
    pub max_total: u64,
    /// Decompressed bytes per compressed byte, beyond the first 64 MiB.
    pub max_ratio: u64,
    /// The largest single entry kept in memory.
    pub max_entry: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 4,
            max_total: 16 << 30,
            max_ratio: 200,
            max_entry: 512 << 20,
        }
    }
}

/// What happened to an archive's entries.
#[derive(Debug, Default)]
pub struct ArchiveReport {
    pub entries: Vec<(String, StreamStats)>,
    pub skipped: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the archive expands beyond the limit ({0}); it looks like a decompression bomb")]
    Bomb(&'static str),
    #[error("the zip archive is not valid: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Recognises an archive or compressed file by its first bytes (and name, for tar).
pub fn sniff(name: &str, head: &[u8]) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let tarred = lower.ends_with(".tar")
        || lower.contains(".tar.")
        || lower.ends_with(".tgz")
        || lower.ends_with(".txz")
        || lower.ends_with(".tzst");
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(if tarred { Format::TarGz } else { Format::Gz });
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Some(if tarred { Format::TarXz } else { Format::Xz });
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Some(if tarred { Format::TarZst } else { Format::Zst });
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Some(Format::Tar);
    }
    None
}

/// An entry's name and content (`None` for a directory).
type Entry = (String, Option<Vec<u8>>);

/// Counts decompressed bytes against the limits, across nesting.
#[derive(Clone)]
struct Budget {
    used: Rc<Cell<u64>>,
    allowed: u64,
}

struct Metered<R> {
    inner: R,
    budget: Budget,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let used = self.budget.used.get() + n as u64;
        self.budget.used.set(used);
        if used > self.budget.allowed {
            return Err(io::Error::other("decompression limit exceeded"));
        }
        Ok(n)
    }
}

/// Redacts archives with one redactor and one set of limits.
pub struct Archives<'r> {
    redactor: &'r Redactor,
    limits: Limits,
    keep_binary: bool,
}

impl<'r> Archives<'r> {
    pub fn new(redactor: &'r Redactor, limits: Limits, keep_binary: bool) -> Self {
        Self {
            redactor,
            limits,
            keep_binary,
        }
    }

    fn budget(&self, compressed: u64) -> Budget {
        let by_ratio = compressed
            .saturating_mul(self.limits.max_ratio)
            .saturating_add(64 << 20);
        Budget {
            used: Rc::new(Cell::new(0)),
            allowed: by_ratio.min(self.limits.max_total),
        }
    }

    /// The first pass over an archive: the short host names and user names its text
    /// entries teach.
    pub fn learn(&self, format: Format, bytes: &[u8]) -> Result<Lessons, ArchiveError> {
        let mut lessons = Lessons::default();
        let budget = self.budget(bytes.len() as u64);
        self.walk(format, bytes, 1, &budget, &mut |_, content| {
            if let Ok(found) = learn_stream(self.redactor, content) {
                lessons.append(found);
            }
        })
        .map_err(|e| self.bomb_or(e, &budget))?;
        Ok(lessons)
    }

    fn bomb_or(&self, error: ArchiveError, budget: &Budget) -> ArchiveError {
        if budget.used.get() > budget.allowed {
            ArchiveError::Bomb("size or compression ratio")
        } else {
            error
        }
    }

    /// Calls `each` with the path and content of every text entry (recursing into nested
    /// archives), for the learning pass.
    fn walk(
        &self,
        format: Format,
        bytes: &[u8],
        depth: u32,
        budget: &Budget,
        each: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<(), ArchiveError> {
        for (name, content) in self.entries(format, bytes, budget)? {
            let Some(content) = content else { continue };
            match sniff(&name, &content) {
                Some(inner) if depth < self.limits.max_depth => {
                    self.walk(inner, &content, depth + 1, budget, each)?
                }
                Some(_) => {}
                None if is_binary(&content) => {}
                None => each(&name, &content),
            }
        }
        Ok(())
    }

    /// Every regular entry's name and content; `None` content for a directory.
    fn entries(
        &self,
        format: Format,
        bytes: &[u8],
        budget: &Budget,
    ) -> Result<Vec<Entry>, ArchiveError> {
        let mut out = Vec::new();
        match format {
            Format::Zip => {
                let mut zip = zip::ZipArchive::new(Cursor::new(bytes))?;
                for i in 0..zip.len() {
                    let mut file = zip.by_index(i)?;
                    let name = file.name().to_owned();
                    if file.is_dir() {
                        out.push((name, None));
                    } else if file.is_file() && safe_name(&name) {
                        out.push((
                            name,
                            Some(read_bounded(&mut file, budget, self.limits.max_entry)?),
                        ));
                    }
                }
            }
            Format::Gz | Format::Xz | Format::Zst => {
                let content = read_bounded(
                    &mut decompress(format, bytes)?,
                    budget,
                    self.limits.max_entry,
                )?;
                out.push(("content".into(), Some(content)));
            }
            Format::Tar | Format::TarGz | Format::TarXz | Format::TarZst => {
                let reader = Metered {
                    inner: decompress(format, bytes)?,
                    budget: budget.clone(),
                };
                let mut archive = tar::Archive::new(reader);
                for entry in archive.entries()? {
                    let mut entry = entry?;
                    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                    let kind = entry.header().entry_type();
                    if kind.is_dir() {
                        out.push((name, None));
                    } else if kind.is_file() && safe_name(&name) {
                        out.push((
                            name,
                            Some(read_bounded(&mut entry, budget, self.limits.max_entry)?),
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Redacts an archive held in memory into a new archive of the same format.
    pub fn redact(
        &self,
        format: Format,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<ArchiveReport, ArchiveError> {
        let budget = self.budget(bytes.len() as u64);
        let mut report = ArchiveReport::default();
        self.redact_at(format, bytes, out, 1, &budget, "", &mut report)
            .map_err(|e| self.bomb_or(e, &budget))?;
        Ok(report)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one recursion step carries its whole context"
    )]
    fn redact_at(
        &self,
        format: Format,
        bytes: &[u8],
        out: &mut Vec<u8>,
        depth: u32,
        budget: &Budget,
        prefix: &str,
        report: &mut ArchiveReport,
    ) -> Result<(), ArchiveError> {
        match format {
            Format::Gz | Format::Xz | Format::Zst => {
                let content = read_bounded(
                    &mut decompress(format, bytes)?,
                    budget,
                    self.limits.max_entry,
                )?;
                let mut plain = Vec::new();
                let stats = redact_stream(self.redactor, &content[..], &mut plain)?;
                report.entries.push((format!("{prefix}content"), stats));
                let mut encoder = compress(format, out)?;
                encoder.write_all(&plain)?;
                encoder.finish()?;
            }
            Format::Zip => self.redact_zip(bytes, out, depth, budget, prefix, report)?,
            Format::Tar | Format::TarGz | Format::TarXz | Format::TarZst => {
                self.redact_tar(format, bytes, out, depth, budget, prefix, report)?
            }
        }
        Ok(())
    }

    /// The new content of one file entry, or `None` to leave it out.
    fn entry_content(
        &self,
        name: &str,
        content: Vec<u8>,
        depth: u32,
        budget: &Budget,
        prefix: &str,
        report: &mut ArchiveReport,
    ) -> Result<Option<Vec<u8>>, ArchiveError> {
        let path = format!("{prefix}{name}");
        if let Some(inner) = sniff(name, &content) {
            if depth >= self.limits.max_depth {
                report.skipped.push((
                    path,
                    "archive nested deeper than the limit, left out".into(),
                ));
                return Ok(None);
            }
            let mut nested = Vec::new();
            self.redact_at(
                inner,
                &content,
                &mut nested,
                depth + 1,
                budget,
                &format!("{path}!/"),
                report,
            )?;
            return Ok(Some(nested));
        }
        if is_binary(&content) {
            if self.keep_binary {
                report
                    .skipped
                    .push((path, "binary, copied unchanged".into()));
                return Ok(Some(content));
            }
            report.skipped.push((path, "binary, left out".into()));
            return Ok(None);
        }
        let mut redacted = Vec::with_capacity(content.len());
        let stats = redact_stream(self.redactor, &content[..], &mut redacted)?;
        report.entries.push((path, stats));
        Ok(Some(redacted))
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one recursion step carries its whole context"
    )]
    fn redact_tar(
        &self,
        format: Format,
        bytes: &[u8],
        out: &mut Vec<u8>,
        depth: u32,
        budget: &Budget,
        prefix: &str,
        report: &mut ArchiveReport,
    ) -> Result<(), ArchiveError> {
        let reader = Metered {
            inner: decompress(format, bytes)?,
            budget: budget.clone(),
        };
        let mut archive = tar::Archive::new(reader);
        let mut builder = tar::Builder::new(compress(format, out)?);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            let new_name = match self.screen(&name, kind.is_dir(), kind.is_file(), prefix, report) {
                Screened::Skip => continue,
                Screened::Directory(new_name) => {
                    let mut header = tar::Header::new_gnu();
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(entry.header().mode().unwrap_or(0o755));
                    header.set_size(0);
                    builder.append_data(&mut header, &new_name, io::empty())?;
                    continue;
                }
                Screened::File(new_name) => new_name,
            };
            let content = read_bounded(&mut entry, budget, self.limits.max_entry)?;
            let mode = entry.header().mode().unwrap_or(0o644);
            if let Some(content) =
                self.entry_content(&name, content, depth, budget, prefix, report)?
            {
                let mut header = tar::Header::new_gnu();
                header.set_mode(mode);
                header.set_size(content.len() as u64);
                builder.append_data(&mut header, &new_name, &content[..])?;
            }
        }
        builder.into_inner()?.finish()?;
        Ok(())
    }

    fn redact_zip(
        &self,
        bytes: &[u8],
        out: &mut Vec<u8>,
        depth: u32,
        budget: &Budget,
        prefix: &str,
        report: &mut ArchiveReport,
    ) -> Result<(), ArchiveError> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes))?;
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..zip.len() {
            let mut file = zip.by_index(i)?;
            let name = file.name().to_owned();
            let new_name = match self.screen(&name, file.is_dir(), file.is_file(), prefix, report) {
                Screened::Skip => continue,
                Screened::Directory(new_name) => {
                    writer.add_directory(new_name, options)?;
                    continue;
                }
                Screened::File(new_name) => new_name,
            };
            let content = read_bounded(&mut file, budget, self.limits.max_entry)?;
            drop(file);
            if let Some(content) =
                self.entry_content(&name, content, depth, budget, prefix, report)?
            {
                writer.start_file(new_name, options)?;
                writer.write_all(&content)?;
            }
        }
        out.extend_from_slice(&writer.finish()?.into_inner());
        Ok(())
    }

    /// Decides what becomes of an entry before its content is read, and names it anew.
    fn screen(
        &self,
        name: &str,
        is_dir: bool,
        is_file: bool,
        prefix: &str,
        report: &mut ArchiveReport,
    ) -> Screened {
        let reason = if !safe_name(name) {
            "path leaves the archive's tree, left out"
        } else if is_dir {
            return Screened::Directory(self.redact_name(name));
        } else if !is_file {
            "link or special file, not followed"
        } else {
            return Screened::File(self.redact_name(name));
        };
        report
            .skipped
            .push((format!("{prefix}{name}"), reason.into()));
        Screened::Skip
    }

    fn redact_name(&self, name: &str) -> String {
        let parts: Vec<String> = name
            .split('/')
            .map(|part| {
                String::from_utf8_lossy(&self.redactor.redact(part.as_bytes()).text).into_owned()
            })
            .collect();
        parts.join("/")
    }
}

/// What an archive entry becomes: left out, or kept under its redacted name.
enum Screened {
    Skip,
    Directory(String),
    File(String),
}

/// A relative path that stays inside the archive's tree.
fn safe_name(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn read_bounded(
    reader: &mut dyn Read,
    budget: &Budget,
    max_entry: u64,
) -> Result<Vec<u8>, ArchiveError> {
    let mut content = Vec::new();
    let read = reader.take(max_entry + 1).read_to_end(&mut content)? as u64;
    if read > max_entry {
        return Err(ArchiveError::Bomb(
            "an entry larger than the per-entry limit",
        ));
    }
    let used = budget.used.get().saturating_add(read);
    budget.used.set(used);
    if used > budget.allowed {
        return Err(ArchiveError::Bomb("size or compression ratio"));
    }
    Ok(content)
}

fn decompress<'a>(format: Format, bytes: &'a [u8]) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match format {
        Format::Tar | Format::Zip => Box::new(bytes),
        Format::TarGz | Format::Gz => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        Format::TarXz | Format::Xz => Box::new(xz2::read::XzDecoder::new(bytes)),
        Format::TarZst | Format::Zst => Box::new(zstd::stream::read::Decoder::new(bytes)?),
    })
}

/// A writer that compresses like the input was, finished explicitly.
enum Encoder<'a> {
    Plain(&'a mut Vec<u8>),
    Gz(flate2::write::GzEncoder<&'a mut Vec<u8>>),
    Xz(xz2::write::XzEncoder<&'a mut Vec<u8>>),
    Zst(zstd::stream::write::Encoder<'static, &'a mut Vec<u8>>),
}

impl Encoder<'_> {
    fn finish(self) -> io::Result<()> {
        match self {
            Encoder::Plain(_) => Ok(()),
            Encoder::Gz(e) => e.finish().map(drop),
            Encoder::Xz(e) => e.finish().map(drop),
            Encoder::Zst(e) => e.finish().map(drop),
        }
    }
}

impl Write for Encoder<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gz(w) => w.write(buf),
            Encoder::Xz(w) => w.write(buf),
            Encoder::Zst(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gz(w) => w.flush(),
            Encoder::Xz(w) => w.flush(),
            Encoder::Zst(w) => w.flush(),
        }
    }
}

fn compress(format: Format, out: &mut Vec<u8>) -> io::Result<Encoder<'_>> {
    Ok(match format {
        Format::Tar | Format::Zip => Encoder::Plain(out),
        Format::TarGz | Format::Gz => Encoder::Gz(flate2::write::GzEncoder::new(
            out,
            flate2::Compression::default(),
        )),
        Format::TarXz | Format::Xz => Encoder::Xz(xz2::write::XzEncoder::new(out, 6)),
        Format::TarZst | Format::Zst => Encoder::Zst(zstd::stream::write::Encoder::new(out, 3)?),
    })
}

/// A NUL byte in the first 8 KiB marks binary content.
pub fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(8192)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Policy, PseudonymMap};

    const LOG: &[u8] = b"user alice from 10.20.30.40 via web01.corp.acme.com\n";

    fn redactor() -> Redactor {
        Redactor::new(Policy::default(), PseudonymMap::new([5; 32])).unwrap()
    }

    fn tar_of(entries: &[(&str, &[u8])], gz: bool) -> Vec<u8> {
        let mut raw = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut raw);
            for (name, content) in entries {
                let mut header = tar::Header::new_gnu();
                header.set_size(content.len() as u64);
                header.set_mode(0o644);
                header.set_path(name).unwrap_or_else(|_| {
                    // Hostile names are written into the raw header on purpose.
                    let bytes = name.as_bytes();
                    header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
                });
                header.set_cksum();
                builder.append(&header, *content).unwrap();
            }
            builder.finish().unwrap();
        }
        if !gz {
            return raw;
        }
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&raw).unwrap();
        encoder.finish().unwrap()
    }

    fn tar_entries(bytes: &[u8], gz: bool) -> Vec<(String, Vec<u8>)> {
        let reader: Box<dyn Read> = if gz {
            Box::new(flate2::read::GzDecoder::new(bytes))
        } else {
            Box::new(bytes)
        };
        let mut archive = tar::Archive::new(reader);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().display().to_string();
                let mut content = Vec::new();
                e.read_to_end(&mut content).unwrap();
                (name, content)
            })
            .collect()
    }

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(
            sniff("bundle.tar.gz", &tar_of(&[("a", b"x")], true)),
            Some(Format::TarGz)
        );
        assert_eq!(
            sniff("bundle.tar", &tar_of(&[("a", b"x")], false)),
            Some(Format::Tar)
        );
        assert_eq!(sniff("x.log.gz", &[0x1f, 0x8b, 8]), Some(Format::Gz));
        assert_eq!(sniff("x.zip", b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(sniff("x.log", b"plain text"), None);
    }

    #[test]
    fn a_tar_gz_bundle_comes_out_as_a_redacted_tar_gz() {
        let r = redactor();
        let nested = tar_of(&[("inner/app.log", LOG)], false);
        let bundle = tar_of(
            &[
                ("logs/web01.corp.acme.com/messages", LOG),
                ("core", b"\0\x01binary"),
                ("nested.tar", &nested),
            ],
            true,
        );
        let archives = Archives::new(&r, Limits::default(), false);
        let mut out = Vec::new();
        let report = archives.redact(Format::TarGz, &bundle, &mut out).unwrap();
        let entries = tar_entries(&out, true);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            !names[0].contains("web01") && names[0].starts_with("logs/"),
            "{names:?}"
        );
        let text = String::from_utf8_lossy(&entries[0].1);
        assert!(
            !text.contains("alice") && !text.contains("10.20.30.40") && !text.contains("acme"),
            "{text}"
        );
        let inner = tar_entries(&entries[1].1, false);
        assert!(!String::from_utf8_lossy(&inner[0].1).contains("alice"));
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.entries.len(), 2);
    }

    #[test]
    fn entries_that_climb_out_of_the_tree_are_left_out() {
        let r = redactor();
        let bundle = tar_of(&[("../../etc/cron.d/evil", LOG), ("ok.log", LOG)], false);
        let mut out = Vec::new();
        let report = Archives::new(&r, Limits::default(), false)
            .redact(Format::Tar, &bundle, &mut out)
            .unwrap();
        let names: Vec<String> = tar_entries(&out, false)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, ["ok.log"]);
        assert!(report.skipped[0].1.contains("leaves the archive"));
        assert!(
            !safe_name("/etc/passwd")
                && !safe_name("a/../../b")
                && !safe_name("..\\x")
                && safe_name("a/./b")
        );
    }

    #[test]
    fn decompression_bombs_are_refused() {
        let r = redactor();
        let zeros = vec![b'a'; 50 << 20];
        let bomb = tar_of(&[("big.log", &zeros)], true);
        let limits = Limits {
            max_ratio: 10,
            max_total: 1 << 20,
            ..Limits::default()
        };
        let mut out = Vec::new();
        let result = Archives::new(&r, limits, false).redact(Format::TarGz, &bomb, &mut out);
        assert!(matches!(result, Err(ArchiveError::Bomb(_))), "{result:?}");
    }

    #[test]
    fn zip_bundles_round_trip() {
        let r = redactor();
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file(
                "web01.corp.acme.com.log",
                zip::write::SimpleFileOptions::default(),
            )
            .unwrap();
        writer.write_all(LOG).unwrap();
        let bundle = writer.finish().unwrap().into_inner();
        let mut out = Vec::new();
        Archives::new(&r, Limits::default(), false)
            .redact(Format::Zip, &bundle, &mut out)
            .unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(out)).unwrap();
        let mut file = zip.by_index(0).unwrap();
        assert!(!file.name().contains("web01"));
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert!(!text.contains("alice"));
    }

    #[test]
    fn learning_sees_into_archives() {
        let r = redactor();
        let bundle = tar_of(&[("a.log", LOG)], true);
        let lessons = Archives::new(&r, Limits::default(), false)
            .learn(Format::TarGz, &bundle)
            .unwrap();
        assert!(lessons.hosts.contains("web01"));
    }
}
