//! Per-file throughput of the engine in one process, without the command around it:
//! detection alone, then detection with pseudonyms derived and recorded (a fresh map per
//! file), each over the file in 1 MiB chunks as `casebridge redact` reads it.
//!
//! `cargo run --release -p casebridge-redact --example throughput -- FILE...`

use std::time::Instant;

use casebridge_redact::{Detectors, MapBook, Policy, Redactor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let detectors = Detectors::new(&[], &[])?;
    println!(
        "{:<28} {:>8} {:>10} {:>14} {:>14}",
        "file", "MB", "findings", "detect MB/s", "redact MB/s"
    );
    for path in std::env::args().skip(1) {
        let text = std::fs::read(&path)?;
        let chunks = || text.chunks(casebridge_redact::CHUNK_BYTES);
        let started = Instant::now();
        let findings: usize = chunks().map(|c| detectors.find(c).len()).sum();
        let detect = started.elapsed().as_secs_f64();
        let redactor = Redactor::with_book(Policy::default(), MapBook::new([3; 32]))?;
        let started = Instant::now();
        for chunk in chunks() {
            std::hint::black_box(redactor.redact(chunk));
        }
        let redact = started.elapsed().as_secs_f64();
        let mb = text.len() as f64 / 1e6;
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        println!(
            "{name:<28} {mb:>8.1} {findings:>10} {:>14.0} {:>14.0}",
            mb / detect,
            mb / redact
        );
    }
    Ok(())
}
