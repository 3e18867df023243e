//! Redacting a stream in bounded memory: chunks end at a line break, never inside a PEM
//! block, so every finding lies whole within one chunk.

use std::io::{self, Read, Write};

use crate::detect::{PEM_BLOCK_BYTES, SIGNATURE_CLOSES};
use crate::redactor::Lessons;
use crate::table::Header;
use crate::{Category, Finding, Redacted, Redactor};

/// The size a chunk grows to before it is cut at its last line break.
pub const CHUNK_BYTES: usize = 1 << 20;
/// A line longer than this is cut anyway (a minified file, a binary blob).
const MAX_CHUNK_BYTES: usize = 8 << 20;

/// What one stream held.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamStats {
    pub bytes: u64,
    pub findings: Vec<(Category, u64)>,
}

impl StreamStats {
    fn count(&mut self, category: Category) {
        match self.findings.iter_mut().find(|(c, _)| *c == category) {
            Some((_, n)) => *n += 1,
            None => self.findings.push((category, 1)),
        }
    }

    pub fn total(&self) -> u64 {
        self.findings.iter().map(|(_, n)| n).sum()
    }
}

/// Calls `each` with consecutive chunks of `reader` that end at a safe boundary.
pub fn for_each_chunk(
    mut reader: impl Read,
    mut each: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<u64> {
    let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK_BYTES * 2);
    let mut total = 0u64;
    let mut eof = false;
    while !eof {
        while buffer.len() < CHUNK_BYTES {
            let start = buffer.len();
            buffer.resize(start + 64 * 1024, 0);
            let n = reader.read(&mut buffer[start..])?;
            buffer.truncate(start + n);
            if n == 0 {
                eof = true;
                break;
            }
            total += n as u64;
        }
        let cut = if eof { buffer.len() } else { safe_cut(&buffer) };
        if cut == 0 {
            // No safe boundary yet: read more, up to the hard limit.
            if buffer.len() < MAX_CHUNK_BYTES {
                let start = buffer.len();
                buffer.resize(start + CHUNK_BYTES, 0);
                let n = reader.read(&mut buffer[start..])?;
                buffer.truncate(start + n);
                total += n as u64;
                eof = n == 0;
                continue;
            }
            each(&buffer)?;
            buffer.clear();
            continue;
        }
        each(&buffer[..cut])?;
        buffer.drain(..cut);
    }
    if !buffer.is_empty() {
        each(&buffer)?;
    }
    Ok(total)
}

/// The end of the last complete line, moved before an unterminated PEM block, and before
/// a signature's closing line (`Best regards,`), which names the person on the next one.
fn safe_cut(buffer: &[u8]) -> usize {
    let Some(newline) = memrchr(b'\n', buffer) else {
        return 0;
    };
    let mut cut = newline + 1;
    let line_start = memrchr(b'\n', &buffer[..newline]).map_or(0, |n| n + 1);
    if line_start > 0 && signature_close(&buffer[line_start..newline]) {
        cut = line_start;
    }
    // A block that began further back than a block may be long is no key to keep whole:
    // only the buffer's tail is searched, not the whole megabyte on every cut.
    let tail = cut.saturating_sub(PEM_BLOCK_BYTES + 64);
    if let Some(begin) = find_last(&buffer[tail..cut], b"-----BEGIN ") {
        let begin = tail + begin;
        if find_last(&buffer[begin..cut], b"-----END ").is_none() {
            cut = begin;
        }
    }
    cut
}

/// Whether `line` closes a letter and the sender's name follows on the next line.
fn signature_close(line: &[u8]) -> bool {
    let line = line.trim_ascii_end();
    let line = line
        .strip_suffix(b",")
        .or_else(|| line.strip_suffix(b"!"))
        .unwrap_or(line);
    line.len() <= 40
        && SIGNATURE_CLOSES.iter().any(|close| {
            line.len() >= close.len()
                && line[line.len() - close.len()..].eq_ignore_ascii_case(close.as_bytes())
        })
}

fn memrchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    memchr::memrchr(needle, haystack)
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(haystack, needle)
}

/// Redacts `reader` into `writer`.
pub fn redact_stream(
    redactor: &Redactor,
    reader: impl Read,
    writer: impl Write,
) -> io::Result<StreamStats> {
    redact_stream_with(redactor, reader, writer, |_, _| {})
}

/// Redacts `reader` into `writer`, telling `on_finding` each finding with the offset of
/// its chunk in the stream (so `offset + finding.start` is its byte position).
pub fn redact_stream_with(
    redactor: &Redactor,
    reader: impl Read,
    mut writer: impl Write,
    mut on_finding: impl FnMut(u64, &Finding),
) -> io::Result<StreamStats> {
    let mut stats = StreamStats::default();
    let mut offset = 0u64;
    let mut out = Vec::new();
    // The header of a table whose rows go on into the next chunk.
    let mut carried = None;
    stats.bytes = for_each_chunk(reader, |chunk| {
        out.clear();
        let (findings, open) = redactor.redact_carrying_into(chunk, carried.as_ref(), &mut out);
        carried = open;
        for finding in &findings {
            stats.count(finding.category);
            on_finding(offset, finding);
        }
        offset += chunk.len() as u64;
        writer.write_all(&out)
    })?;
    writer.flush()?;
    Ok(stats)
}

/// Redacts `reader` into `writer` with `workers` threads: chunks are read ahead, redacted
/// in parallel and written in order, so one large file uses every core. At most a few
/// chunks per worker are in memory at once, however slow one of them is.
pub fn redact_stream_on(
    redactor: &Redactor,
    reader: impl Read + Send,
    mut writer: impl Write,
    workers: usize,
    mut on_finding: impl FnMut(u64, &Finding),
) -> io::Result<StreamStats> {
    use std::collections::BTreeMap;
    use std::sync::{mpsc, Mutex};
    if workers <= 1 {
        return redact_stream_with(redactor, reader, writer, on_finding);
    }
    // The reader may run this many chunks ahead of the writer.
    let ahead = workers * 2;
    let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(ahead);
    for _ in 0..ahead {
        let _ = permit_tx.send(());
    }
    // Each chunk with the header of the table whose rows go on into it.
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<(usize, Vec<u8>, Option<Header>)>(workers);
    let chunk_rx = Mutex::new(chunk_rx);
    type Done = (usize, usize, Option<Redacted>);
    let (done_tx, done_rx) = mpsc::sync_channel::<Done>(workers);
    let mut stats = StreamStats::default();
    let mut written: io::Result<()> = Ok(());
    let read = std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let chunk_rx = &chunk_rx;
            scope.spawn(move || loop {
                let next = chunk_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((seq, chunk, carried)) = next else {
                    break;
                };
                // A chunk that could not be redacted fails the stream; the others go on so
                // that nothing waits for it forever.
                let redacted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    redactor.redact_carrying(&chunk, carried.as_ref()).0
                }))
                .ok();
                if done_tx.send((seq, chunk.len(), redacted)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let reading = scope.spawn(move || {
            let mut seq = 0;
            let mut carried = None;
            for_each_chunk(reader, |chunk| {
                // The next chunk's header is this one's open table's: the tables are read
                // here, in order, while the workers redact.
                let open = match carried.is_some() || may_end_in_a_table(chunk) {
                    true => crate::table::cells(chunk, carried.as_ref()).1,
                    false => None,
                };
                // Waits while the writer is too far behind; stops if it has gone.
                permit_rx
                    .recv()
                    .and_then(|()| {
                        chunk_tx
                            .send((seq, chunk.to_vec(), std::mem::replace(&mut carried, open)))
                            .map_err(|_| mpsc::RecvError)
                    })
                    .map_err(|_| io::Error::other("the writer stopped"))?;
                seq += 1;
                Ok(())
            })
        });
        // Results come in any order; they are written in the order they were read.
        let mut waiting: BTreeMap<usize, (usize, Option<Redacted>)> = BTreeMap::new();
        let (mut next, mut offset) = (0, 0u64);
        for (seq, len, redacted) in done_rx {
            waiting.insert(seq, (len, redacted));
            while let Some((len, redacted)) = waiting.remove(&next) {
                match (&written, redacted) {
                    (Ok(()), Some(redacted)) => {
                        for finding in &redacted.findings {
                            stats.count(finding.category);
                            on_finding(offset, finding);
                        }
                        written = writer.write_all(&redacted.text);
                    }
                    (Ok(()), None) => {
                        written = Err(io::Error::other(
                            "a part of the input could not be redacted",
                        ));
                    }
                    (Err(_), _) => {}
                }
                offset += len as u64;
                next += 1;
                let _ = permit_tx.send(());
            }
        }
        reading
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reader failed")))
    });
    written?;
    stats.bytes = read?;
    writer.flush()?;
    Ok(stats)
}

/// Whether `chunk`'s last line may be a table's row: it holds one of the delimiters a
/// table's rows are split at, or it is a dump's comment or empty line between a `CREATE
/// TABLE` and its `INSERT`s. Most chunks of logs end otherwise, and their tables need not
/// be read twice.
fn may_end_in_a_table(chunk: &[u8]) -> bool {
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let last = &body[memchr::memrchr(b'\n', body).map_or(0, |p| p + 1)..];
    memchr::memchr3(b',', b'\t', b'|', last).is_some()
        || memchr::memchr(b';', last).is_some()
        || last.trim_ascii().is_empty()
        || last.starts_with(b"--")
}

/// The first pass: the short host names and user names `reader` teaches.
pub fn learn_stream(redactor: &Redactor, reader: impl Read) -> io::Result<Lessons> {
    let mut lessons = Lessons::default();
    let mut carried = None;
    for_each_chunk(reader, |chunk| {
        carried = lessons.learn_carrying(redactor.detectors(), chunk, carried.as_ref());
        Ok(())
    })?;
    Ok(lessons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Policy, PseudonymMap};

    #[test]
    fn chunks_end_at_lines_and_keep_pem_blocks_whole() {
        let mut text = Vec::new();
        for i in 0..40_000 {
            text.extend_from_slice(format!("line {i} host db{i}.acme.com\n").as_bytes());
        }
        text.extend_from_slice(b"-----BEGIN PRIVATE KEY-----\n");
        text.extend(
            std::iter::repeat_n(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n".as_slice(), 100)
                .flatten(),
        );
        text.extend_from_slice(b"-----END PRIVATE KEY-----\ntail\n");
        let mut chunks = Vec::new();
        let total = for_each_chunk(&text[..], |c| {
            chunks.push(c.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(total as usize, text.len());
        assert!(chunks.len() > 1);
        assert_eq!(chunks.concat(), text);
        assert!(chunks.iter().all(|c| c.ends_with(b"\n")));
        let with_key = chunks
            .iter()
            .filter(|c| find_last(c, b"-----BEGIN ").is_some())
            .count();
        assert_eq!(with_key, 1);
        assert!(chunks.iter().any(
            |c| find_last(c, b"-----BEGIN ").is_some() && find_last(c, b"-----END ").is_some()
        ));
    }

    #[test]
    fn a_big_exports_rows_are_read_under_its_header_in_every_chunk() {
        // Three chunks' worth of rows under one header; the last row's values appear
        // nowhere else, and a phone in a national format only its column marks.
        let mut csv = b"id,first_name,last_name,phone,username\n".to_vec();
        let mut i = 0;
        while csv.len() < 3 * CHUNK_BYTES {
            csv.extend_from_slice(
                format!("{i},Anna,Smith,+1 555 010 {:04},asmith{i}\n", i % 10_000).as_bytes(),
            );
            i += 1;
        }
        csv.extend_from_slice(b"99999,Zbigniew,Brzeczyszczykiewicz,+81 3-1234-5678,zbrzecz\n");
        let redactor = Redactor::new(Policy::default(), PseudonymMap::new([7; 32])).unwrap();
        let last_row = |out: &[u8]| {
            let out = String::from_utf8_lossy(out).into_owned();
            out.lines().last().unwrap().to_string()
        };
        let mut one = Vec::new();
        redact_stream(&redactor, &csv[..], &mut one).unwrap();
        let mut two = Vec::new();
        redact_stream_on(&redactor, &csv[..], &mut two, 2, |_, _| {}).unwrap();
        assert!(one == two, "one worker or two, the same output");
        let row = last_row(&one);
        for value in [
            "Zbigniew",
            "Brzeczyszczykiewicz",
            "+81 3-1234-5678",
            "zbrzecz",
        ] {
            assert!(!row.contains(value), "{value} left in {row}");
        }
        assert!(row.starts_with("99999,Person-"), "{row}");
        // The learning pass reads them too: a name only the last row holds is learned.
        let lessons = learn_stream(&redactor, &csv[..]).unwrap();
        let mut learned = Redactor::new(Policy::default(), PseudonymMap::new([7; 32])).unwrap();
        learned.learn_lessons(lessons);
        let ticket = learned.redact(b"Brzeczyszczykiewicz called; zbrzecz is locked out\n");
        let ticket = String::from_utf8(ticket.text).unwrap();
        assert!(
            !ticket.contains("Brzeczyszczykiewicz") && !ticket.contains("zbrzecz"),
            "{ticket}"
        );
        // A chunk that ends in a table's rows tells the next one its header; a log's does not.
        assert!(may_end_in_a_table(b"x\n1,Anna,Smith\n"));
        assert!(!may_end_in_a_table(
            b"1,Anna\nDec  5 10:00:01 web-03 sshd[991]: ok\n"
        ));
    }

    #[test]
    fn a_big_dumps_inserts_are_read_under_its_create_table_in_every_chunk() {
        let mut dump = b"CREATE TABLE `users` (\n  `id` int NOT NULL,\n  `first_name` varchar(64),\n  `mobile` varchar(32),\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\n--\n-- Dumping data for table `users`\n--\n\nLOCK TABLES `users` WRITE;\n".to_vec();
        let mut i = 0;
        while dump.len() < 3 * CHUNK_BYTES {
            dump.extend_from_slice(b"INSERT INTO `users` VALUES ");
            for _ in 0..200 {
                dump.extend_from_slice(
                    format!("({i},'Anna','+1 555 010 {:04}'),", i % 10_000).as_bytes(),
                );
                i += 1;
            }
            dump.extend_from_slice(b"(0,'Anna',NULL);\n");
        }
        dump.extend_from_slice(
            b"INSERT INTO `users` VALUES (99999,'Zbigniew','+81 3-1234-5678');\nUNLOCK TABLES;\n",
        );
        let redactor = Redactor::new(Policy::default(), PseudonymMap::new([7; 32])).unwrap();
        let mut one = Vec::new();
        redact_stream(&redactor, &dump[..], &mut one).unwrap();
        let mut two = Vec::new();
        redact_stream_on(&redactor, &dump[..], &mut two, 2, |_, _| {}).unwrap();
        assert!(one == two, "one worker or two, the same output");
        let out = String::from_utf8_lossy(&one).into_owned();
        let row = out.lines().rev().nth(1).unwrap();
        assert!(
            row.starts_with("INSERT INTO `users` VALUES (99999,'Person-"),
            "{row}"
        );
        assert!(!row.contains("+81 3-1234-5678"), "{row}");
        // A chunk that ends between a dump's `CREATE TABLE` and its `INSERT`s may carry.
        assert!(may_end_in_a_table(b") ENGINE=InnoDB;\n\n--\n"));
        assert!(may_end_in_a_table(b") ENGINE=InnoDB;\n\n"));
    }

    fn big_log() -> Vec<u8> {
        let mut text = Vec::new();
        for i in 0..120_000 {
            text.extend_from_slice(
                format!(
                    "{i} user u{} from 10.{}.{}.7 host db{}.corp.acme.com\n",
                    i % 97,
                    i % 200,
                    i % 250,
                    i % 31
                )
                .as_bytes(),
            );
        }
        text
    }

    #[test]
    fn workers_write_what_one_thread_writes() {
        let text = big_log();
        assert!(text.len() > 4 * CHUNK_BYTES);
        let redactor = Redactor::new(Policy::default(), PseudonymMap::new([7; 32])).unwrap();
        let (mut one, mut many) = (Vec::new(), Vec::new());
        let (mut at_one, mut at_many) = (Vec::new(), Vec::new());
        let alone = redact_stream_with(&redactor, &text[..], &mut one, |o, f| {
            at_one.push((o + f.start as u64, f.kind))
        })
        .unwrap();
        let together = redact_stream_on(&redactor, &text[..], &mut many, 3, |o, f| {
            at_many.push((o + f.start as u64, f.kind))
        })
        .unwrap();
        assert_eq!(one, many);
        assert_eq!(at_one, at_many);
        assert_eq!(alone, together);
        assert_eq!(together.bytes as usize, text.len());
    }

    struct Failing<R>(R, usize);

    impl<R: Read> Read for Failing<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 == 0 {
                return Err(io::Error::other("disk gone"));
            }
            let most = buf.len().min(self.1);
            let n = self.0.read(&mut buf[..most])?;
            self.1 -= n;
            Ok(n)
        }
    }

    impl<W: Write> Write for Failing<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.1 < buf.len() {
                return Err(io::Error::other("disk full"));
            }
            self.1 -= buf.len();
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0.flush()
        }
    }

    #[test]
    fn a_failing_reader_or_writer_fails_the_parallel_stream_without_hanging() {
        let text = big_log();
        let redactor = Redactor::new(Policy::default(), PseudonymMap::new([7; 32])).unwrap();
        let reader = Failing(&text[..], 3 * CHUNK_BYTES);
        let error = redact_stream_on(&redactor, reader, io::sink(), 2, |_, _| {}).unwrap_err();
        assert_eq!(error.to_string(), "disk gone");
        let writer = Failing(Vec::new(), CHUNK_BYTES);
        let error = redact_stream_on(&redactor, &text[..], writer, 2, |_, _| {}).unwrap_err();
        assert_eq!(error.to_string(), "disk full");
    }

    #[test]
    fn a_signature_is_not_cut_from_the_name_under_it() {
        // The first chunk would end right after "Best regards," and the name start the next.
        let name_at = CHUNK_BYTES - 4;
        let mut text = Vec::new();
        while text.len() + 100 <= name_at - 14 {
            text.extend(std::iter::repeat_n(b'x', 99));
            text.push(b'\n');
        }
        text.extend(std::iter::repeat_n(b'y', name_at - 14 - text.len() - 1));
        text.extend_from_slice(b"\nBest regards,\nPriya Raman\nmore\n");
        assert_eq!(&text[name_at..name_at + 5], b"Priya");
        let redactor = Redactor::new(Policy::default(), PseudonymMap::new([1; 32])).unwrap();
        let mut out = Vec::new();
        redact_stream(&redactor, &text[..], &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("Priya"), "{}", &out[out.len() - 60..]);
        assert!(out.ends_with("\nmore\n"));
        assert!(signature_close(b"Kind Regards!\r"));
        assert!(!signature_close(
            b"no regards given to the parser of this very long line"
        ));
    }

    #[test]
    fn a_stream_is_redacted_and_counted() {
        let redactor = Redactor::new(Policy::default(), PseudonymMap::new([1; 32])).unwrap();
        let mut out = Vec::new();
        let stats = redact_stream(&redactor, &b"user alice from 10.0.0.1\n"[..], &mut out).unwrap();
        assert_eq!(stats.bytes, 25);
        assert_eq!(stats.total(), 2);
        assert!(!String::from_utf8(out).unwrap().contains("alice"));
    }
}
