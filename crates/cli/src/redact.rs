//! `casebridge redact`: clean log files and support bundles on the engineer's own machine
//! before anything is uploaded anywhere.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use casebridge_redact::{
    learn_stream, redact_stream_on, sniff, Archives, Category, Format, Lessons, Limits, MapBook,
    MapError, Policy, PseudonymMap, Redactor, StreamStats, MAP_VERSION, SPILL_BYTES,
};
use clap::Args;
use rand::RngCore;
use serde::Serialize;

#[derive(Args)]
pub struct RedactArgs {
    /// Files or directories to redact; `-` reads standard input.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write: a file for one input file (default, or `-`: standard output), a
    /// directory for several inputs or a directory. Must not exist yet.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The private pseudonym map: read if it exists (same key, same pseudonyms as before;
    /// a map of an earlier format only reveals), then written back with this run's
    /// pseudonyms. Keep it; never share it.
    #[arg(long)]
    map: Option<PathBuf>,
    /// A TOML policy: per-category actions, keywords, patterns, allowed values and domains.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Write the findings report as JSON here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write every finding in plain files as a JSON line (path, byte offsets, kind,
    /// category, confidence, reason) here; the values themselves are never written.
    #[arg(long)]
    findings: Option<PathBuf>,
    /// An extra sensitive word or phrase; repeat for several.
    #[arg(long = "keyword")]
    keywords: Vec<String>,
    /// A value the detectors leave as it is, in any letter case (a product named like a
    /// person, a shared account); repeat for several.
    #[arg(long = "allow", value_name = "VALUE")]
    allow: Vec<String>,
    /// A domain whose host names, and every name under it, are left as they are
    /// (`github.com`; not e-mail addresses); repeat for several.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// Threads to use: files are spread over them, and a file gets the ones fewer files
    /// leave idle [default: the number of cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// Report what would be replaced without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Copy binary files unchanged instead of leaving them out.
    #[arg(long)]
    keep_binary: bool,
    /// Turn pseudonyms back into the original values using --map (for a partner's reply).
    #[arg(long, requires = "map")]
    reveal: bool,
}

/// Inputs smaller than this finish before a progress bar would help.
const PROGRESS_FROM_BYTES: u64 = 64 << 20;

/// A progress bar on standard error when it is a terminal and the run is long; hidden
/// otherwise, so logs and pipes stay clean.
fn progress(total: u64, message: &'static str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if total < PROGRESS_FROM_BYTES || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:10} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// Counts what is read into a progress bar.
struct Counted<R> {
    inner: R,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

fn input_bytes(jobs: &[&Job]) -> u64 {
    jobs.iter()
        .map(|job| match &job.source {
            Source::Stdin(bytes) => bytes.len() as u64,
            Source::File(path) => fs::metadata(path).map_or(0, |m| m.len()),
        })
        .sum()
}

/// One file to process: where it comes from and where it goes, relative to the output.
struct Job {
    source: Source,
    relative: PathBuf,
}

enum Source {
    Stdin(Vec<u8>),
    File(PathBuf),
}

#[derive(Serialize, Default)]
struct Report {
    files: Vec<FileReport>,
    skipped: Vec<Skipped>,
    totals: BTreeMap<String, u64>,
    bytes: u64,
    seconds: f64,
    megabytes_per_second: f64,
    dry_run: bool,
    /// Values the map could not keep because another value had the same pseudonym: the
    /// map reveals the first of each, so a reply quoting it reads as that value.
    pseudonym_collisions: usize,
}

#[derive(Serialize)]
struct FileReport {
    path: String,
    bytes: u64,
    findings: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct Skipped {
    path: String,
    reason: String,
}

pub fn run(args: RedactArgs) -> anyhow::Result<()> {
    let policy = match &args.policy {
        Some(path) => Policy::parse(
            &fs::read_to_string(path)
                .with_context(|| format!("cannot read the policy {}", path.display()))?,
        )
        .with_context(|| format!("the policy {} is not valid", path.display()))?,
        None => Policy::default(),
    };
    let mut policy = policy;
    policy.keywords.extend(args.keywords.iter().cloned());
    policy.allow.extend(args.allow.iter().cloned());
    policy
        .allow_domains
        .extend(args.allow_domains.iter().cloned());
    policy
        .check()
        .context("a --keyword, --allow or --allow-domain is not valid")?;
    if args.reveal {
        return reveal(&args);
    }
    let mut skipped = Vec::new();
    let jobs = collect_jobs(&args.inputs, &mut skipped)?;
    let destination = destination(&args, &jobs)?;
    let mut book = load_map(args.map.as_deref())?;
    if args.map.is_none() || args.dry_run {
        // Nobody will read the map: derive pseudonyms, record nothing.
        book = book.unrecorded();
    }
    let mut redactor =
        Redactor::with_book(policy, book).context("a policy pattern does not compile")?;

    let started = Instant::now();
    let text_jobs: Vec<&Job> = jobs.iter().filter(|j| !is_binary(j)).collect();
    for job in jobs.iter().filter(|j| is_binary(j)) {
        skipped.push(Skipped {
            path: job.relative.display().to_string(),
            reason: if args.keep_binary {
                "binary, copied unchanged".into()
            } else {
                "binary, left out".into()
            },
        });
    }
    let workers = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    // Pass 1: learn every host name and user name anywhere, so pass 2 replaces a host's
    // short form and a user's bare name everywhere.
    let learned = Mutex::new(Lessons::default());
    let total = input_bytes(&text_jobs);
    let bar = progress(total, "learning");
    on_workers(&text_jobs, workers, |job| {
        let lessons = match content(job) {
            Content::Archive(format) => {
                Archives::new(&redactor, Limits::default(), args.keep_binary)
                    .learn(format, &read_all(&job.source)?)
                    .with_context(|| job_name(job))?
            }
            _ => {
                let reader = Counted {
                    inner: open(&job.source)?,
                    bar: bar.clone(),
                };
                learn_stream(&redactor, reader).with_context(|| job_name(job))?
            }
        };
        learned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(lessons);
        Ok(())
    })?;
    bar.finish_and_clear();
    let bar = progress(total, "redacting");
    redactor.learn_lessons(learned.into_inner().unwrap_or_else(|e| e.into_inner()));

    // Pass 2: rewrite, files spread over the cores.
    let staging = destination.as_ref().map(|d| staging_path(&d.path));
    let to_stdout = destination.is_none() && !args.dry_run;
    let results = Mutex::new((Vec::new(), Vec::new(), Vec::new()));
    // Fewer files than workers: each file's chunks are spread over the spare ones.
    let chunk_workers = (workers / text_jobs.len().clamp(1, workers)).max(1);
    let rewritten = on_workers(&text_jobs, workers, |job| {
        let single_file = destination.as_ref().is_some_and(|d| d.single_file);
        let target = Target {
            staging: staging.as_deref(),
            single_file,
            to_stdout,
            keep_binary: args.keep_binary,
            collect_findings: args.findings.is_some(),
            bar: &bar,
            chunk_workers,
        };
        let outcome = redact_job(&redactor, job, &target)?;
        let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
        results.0.extend(outcome.entries);
        results.1.extend(outcome.skipped);
        results.2.extend(outcome.findings);
        Ok(())
    });
    bar.finish_and_clear();
    if let Err(error) = rewritten {
        if let Some(staging) = &staging {
            let _ = fs::remove_dir_all(staging).or_else(|_| fs::remove_file(staging));
        }
        return Err(error.context("nothing was written"));
    }
    if args.keep_binary {
        for job in jobs.iter().filter(|j| is_binary(j)) {
            if let (Some(staging), Source::File(path)) = (&staging, &job.source) {
                let target = staged_target(staging, &redactor, &job.relative, false);
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::copy(path, target)?;
            }
        }
    }
    // The map goes first: output whose pseudonyms could not all be recorded is not complete.
    let mut collisions = 0;
    if let (Some(path), false) = (&args.map, args.dry_run) {
        let written = write_private(path, |file| {
            let mut buffered = io::BufWriter::new(file);
            collisions = redactor.write_map(&mut buffered)?;
            buffered.flush()?;
            Ok(())
        });
        if let Err(error) = written {
            if let Some(staging) = &staging {
                let _ = fs::remove_dir_all(staging).or_else(|_| fs::remove_file(staging));
            }
            return Err(error.context("nothing was written"));
        }
    } else {
        redactor
            .check_map()
            .context("a pseudonym could not be recorded; nothing was written")?;
    }
    if let (Some(staging), Some(destination)) = (&staging, &destination) {
        fs::rename(staging, &destination.path).with_context(|| {
            format!("cannot move the output into {}", destination.path.display())
        })?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (mut results, archive_skipped, mut findings) =
        results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.0.cmp(&b.0));
    skipped.extend(archive_skipped);
    let mut report = build_report(results, skipped, elapsed, args.dry_run);
    report.pseudonym_collisions = collisions;
    if let Some(path) = &args.findings {
        findings.sort_by(|a, b| (&a.path, a.start).cmp(&(&b.path, b.start)));
        let mut lines = String::new();
        for finding in &findings {
            lines.push_str(&serde_json::to_string(finding)?);
            lines.push('\n');
        }
        fs::write(path, lines).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.report {
        fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    print_summary(&report);
    Ok(())
}

impl RedactArgs {
    /// The output path; `None` for standard output (no `-o`, or `-o -`).
    fn output_path(&self) -> Option<&Path> {
        self.output
            .as_deref()
            .filter(|path| path.as_os_str() != "-")
    }
}

struct Destination {
    path: PathBuf,
    single_file: bool,
}

/// Where output goes; `None` for standard output or a dry run.
fn destination(args: &RedactArgs, jobs: &[Job]) -> anyhow::Result<Option<Destination>> {
    if args.dry_run {
        return Ok(None);
    }
    let single_file = args.inputs.len() == 1 && !args.inputs[0].is_dir();
    match args.output_path() {
        None if single_file => Ok(None),
        None => bail!("give an output directory with -o for a directory or several inputs"),
        Some(path) if path.exists() => bail!(
            "the output {} already exists; choose a new path",
            path.display()
        ),
        Some(path) => {
            if jobs.is_empty() {
                bail!("there is nothing to redact in the inputs");
            }
            Ok(Some(Destination {
                path: path.to_path_buf(),
                single_file,
            }))
        }
    }
}

fn staging_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn collect_jobs(inputs: &[PathBuf], skipped: &mut Vec<Skipped>) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut bytes = Vec::new();
            io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            jobs.push(Job {
                source: Source::Stdin(bytes),
                relative: PathBuf::from("stdin"),
            });
            continue;
        }
        let metadata = fs::symlink_metadata(input)
            .with_context(|| format!("cannot read {}", input.display()))?;
        let base = input
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("input"));
        if metadata.is_dir() {
            // One directory in: the output directory stands for it.
            let base = if inputs.len() == 1 {
                PathBuf::new()
            } else {
                base
            };
            walk(input, &base, &mut jobs, skipped)?;
        } else if metadata.is_file() {
            jobs.push(Job {
                source: Source::File(input.clone()),
                relative: base,
            });
        } else {
            skipped.push(Skipped {
                path: input.display().to_string(),
                reason: "not a regular file (symbolic link or device)".into(),
            });
        }
    }
    Ok(jobs)
}

fn walk(
    dir: &Path,
    relative: &Path,
    jobs: &mut Vec<Job>,
    skipped: &mut Vec<Skipped>,
) -> anyhow::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("cannot read the directory {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let rel = relative.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            // A link may point out of the tree; its target is never followed.
            skipped.push(Skipped {
                path: rel.display().to_string(),
                reason: "symbolic link, not followed".into(),
            });
        } else if kind.is_dir() {
            walk(&path, &rel, jobs, skipped)?;
        } else if kind.is_file() {
            jobs.push(Job {
                source: Source::File(path),
                relative: rel,
            });
        }
    }
    Ok(())
}

fn open(source: &Source) -> anyhow::Result<Box<dyn Read + Send + '_>> {
    Ok(match source {
        Source::Stdin(bytes) => Box::new(&bytes[..]),
        Source::File(path) => Box::new(io::BufReader::new(
            fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
    })
}

fn job_name(job: &Job) -> String {
    format!("while reading {}", job.relative.display())
}

/// What a file holds, from its first 8 KiB.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Content {
    Text,
    Archive(Format),
    Binary,
}

fn content(job: &Job) -> Content {
    let mut head = [0u8; 8192];
    let n = match &job.source {
        Source::Stdin(bytes) => {
            let n = bytes.len().min(head.len());
            head[..n].copy_from_slice(&bytes[..n]);
            n
        }
        Source::File(path) => fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0),
    };
    let name = job.relative.to_string_lossy();
    match sniff(&name, &head[..n]) {
        Some(format) => Content::Archive(format),
        None if casebridge_redact::is_binary(&head[..n]) => Content::Binary,
        None => Content::Text,
    }
}

fn is_binary(job: &Job) -> bool {
    content(job) == Content::Binary
}

fn read_all(source: &Source) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(source)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The path of a file in the output: every component's name redacted too.
fn staged_target(
    staging: &Path,
    redactor: &Redactor,
    relative: &Path,
    single_file: bool,
) -> PathBuf {
    if single_file {
        return staging.to_path_buf();
    }
    let mut target = staging.to_path_buf();
    for component in relative.components() {
        let name = component.as_os_str().to_string_lossy();
        let redacted = redactor.redact(name.as_bytes()).text;
        let clean = String::from_utf8_lossy(&redacted).replace(['/', '\\'], "_");
        target.push(if clean.is_empty() || clean == "." || clean == ".." {
            "_".to_owned()
        } else {
            clean
        });
    }
    target
}

/// Where one job's output goes.
struct Target<'a> {
    staging: Option<&'a Path>,
    single_file: bool,
    to_stdout: bool,
    keep_binary: bool,
    /// Whether `--findings` asked for every finding's position.
    collect_findings: bool,
    bar: &'a indicatif::ProgressBar,
    /// Threads for one file's chunks: the cores that files alone would leave idle.
    chunk_workers: usize,
}

fn redact_job(redactor: &Redactor, job: &Job, target: &Target) -> anyhow::Result<JobOutcome> {
    if let Content::Archive(format) = content(job) {
        let mut out = Vec::new();
        let bytes = read_all(&job.source)?;
        target.bar.inc(bytes.len() as u64);
        let report = Archives::new(redactor, Limits::default(), target.keep_binary)
            .redact(format, &bytes, &mut out)
            .with_context(|| job_name(job))?;
        match target.staging {
            Some(staging) => {
                let target = staged_target(staging, redactor, &job.relative, target.single_file);
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(&target, out)
                    .with_context(|| format!("cannot write {}", target.display()))?;
            }
            None if target.to_stdout => io::stdout().lock().write_all(&out)?,
            None => {}
        }
        let base = job.relative.display().to_string();
        return Ok(JobOutcome {
            entries: report
                .entries
                .into_iter()
                .map(|(path, stats)| (PathBuf::from(format!("{base}!/{path}")), stats))
                .collect(),
            skipped: report
                .skipped
                .into_iter()
                .map(|(path, reason)| Skipped {
                    path: format!("{base}!/{path}"),
                    reason,
                })
                .collect(),
            findings: Vec::new(),
        });
    }
    let reader = Counted {
        inner: open(&job.source)?,
        bar: target.bar.clone(),
    };
    let path = job.relative.display().to_string();
    let workers = target.chunk_workers;
    let mut found = Vec::new();
    let mut record = |offset: u64, f: &casebridge_redact::Finding| {
        if !target.collect_findings {
            return;
        }
        found.push(FindingLine {
            path: path.clone(),
            start: offset + f.start as u64,
            end: offset + f.end as u64,
            kind: f.kind.name(),
            category: f.category.as_str(),
            confidence: f.confidence,
            reason: f.reason,
        })
    };
    let stats = match target.staging {
        None if target.to_stdout => {
            redact_stream_on(redactor, reader, io::stdout().lock(), workers, &mut record)
        }
        None => redact_stream_on(redactor, reader, io::sink(), workers, &mut record),
        Some(staging) => {
            let path = staged_target(staging, redactor, &job.relative, target.single_file);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let file = fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            redact_stream_on(
                redactor,
                reader,
                io::BufWriter::new(file),
                workers,
                &mut record,
            )
        }
    };
    let stats = stats.with_context(|| job_name(job))?;
    Ok(JobOutcome {
        entries: vec![(job.relative.clone(), stats)],
        skipped: Vec::new(),
        findings: found,
    })
}

/// One finding as `--findings` writes it: where and what, never the value.
#[derive(Serialize)]
struct FindingLine {
    path: String,
    start: u64,
    end: u64,
    kind: &'static str,
    category: &'static str,
    confidence: f32,
    reason: &'static str,
}

/// What one input file produced: one entry for a text file, several for an archive.
struct JobOutcome {
    entries: Vec<(PathBuf, StreamStats)>,
    skipped: Vec<Skipped>,
    findings: Vec<FindingLine>,
}

fn build_report(
    results: Vec<(PathBuf, StreamStats)>,
    skipped: Vec<Skipped>,
    seconds: f64,
    dry_run: bool,
) -> Report {
    let mut report = Report {
        skipped,
        seconds,
        dry_run,
        ..Report::default()
    };
    for (path, stats) in results {
        let mut findings = BTreeMap::new();
        for (category, n) in &stats.findings {
            findings.insert(category.as_str().to_owned(), *n);
            *report
                .totals
                .entry(category.as_str().to_owned())
                .or_default() += n;
        }
        report.bytes += stats.bytes;
        report.files.push(FileReport {
            path: path.display().to_string(),
            bytes: stats.bytes,
            findings,
        });
    }
    report.megabytes_per_second = if seconds > 0.0 {
        report.bytes as f64 / 1e6 / seconds
    } else {
        0.0
    };
    report
}

fn print_summary(report: &Report) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "\n{:<24} {:>10}", "category", "findings");
    for category in Category::ALL {
        if let Some(n) = report.totals.get(category.as_str()) {
            let _ = writeln!(err, "{:<24} {:>10}", category.as_str(), n);
        }
    }
    let _ = writeln!(
        err,
        "\n{} file(s), {:.1} MB in {:.2} s ({:.0} MB/s){}",
        report.files.len(),
        report.bytes as f64 / 1e6,
        report.seconds,
        report.megabytes_per_second,
        if report.dry_run {
            "; dry run, nothing written"
        } else {
            ""
        }
    );
    for skipped in &report.skipped {
        let _ = writeln!(err, "skipped {}: {}", skipped.path, skipped.reason);
    }
    if report.pseudonym_collisions > 0 {
        let _ = writeln!(
            err,
            "warning: {} value(s) share a pseudonym with another value; the map reveals \
             the first value of each such pseudonym",
            report.pseudonym_collisions
        );
    }
}

/// The existing map, read entry by entry (it can be large), or a new one with a fresh key.
fn load_map(path: Option<&Path>) -> anyhow::Result<MapBook> {
    match path {
        Some(path) if path.exists() => {
            let file = fs::File::open(path)
                .with_context(|| format!("cannot read the map {}", path.display()))?;
            MapBook::read(file, SPILL_BYTES).map_err(|error| match error {
                MapError::EarlierFormat(earlier) => anyhow!(
                    "the map {} was written by an earlier casebridge (map format {earlier}), \
                     whose pseudonyms for {} differ from this one's: extending it would give \
                     those values a second pseudonym. Keep it for --reveal, which still reads \
                     it, and give this run a new --map",
                    path.display(),
                    if earlier >= 2 {
                        "host names and email addresses"
                    } else {
                        "names, users, hosts, MAC addresses and numbers"
                    }
                ),
                MapError::NewerFormat(newer) => anyhow!(
                    "the map {} was written by a newer casebridge (map format {newer}); \
                     this one writes format {MAP_VERSION}",
                    path.display()
                ),
                other => anyhow::Error::new(other)
                    .context(format!("the map {} is not valid", path.display())),
            })
        }
        _ => {
            let mut key = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut key);
            Ok(MapBook::new(key))
        }
    }
}

fn reveal(args: &RedactArgs) -> anyhow::Result<()> {
    let path = args.map.as_deref().context("--reveal needs --map")?;
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the map {}", path.display()))?;
    let map = PseudonymMap::parse(&text)
        .with_context(|| format!("the map {} is not valid", path.display()))?;
    if args.inputs.len() != 1 {
        bail!("--reveal takes one input");
    }
    let mut skipped = Vec::new();
    let jobs = collect_jobs(&args.inputs, &mut skipped)?;
    let [job] = &jobs[..] else {
        bail!("--reveal takes one file or standard input");
    };
    let mut text = Vec::new();
    open(&job.source)?.read_to_end(&mut text)?;
    let (restored, count) = map.reveal(&text);
    match args.output_path() {
        Some(path) if path.exists() => bail!(
            "the output {} already exists; choose a new path",
            path.display()
        ),
        Some(path) => {
            fs::write(path, restored).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => io::stdout().write_all(&restored)?,
    }
    eprintln!("{count} pseudonym(s) restored");
    Ok(())
}

/// Writes a file only the current user can read, replacing it atomically.
fn write_private(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let staging = staging_path(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&staging)
        .with_context(|| format!("cannot write {}", staging.display()))?;
    write(&mut file)?;
    file.sync_all()?;
    fs::rename(&staging, path)
        .with_context(|| format!("cannot write the map {}", path.display()))?;
    Ok(())
}

/// Runs `work` on every item, spread over `workers` threads; stops at the first failure
/// and returns it.
fn on_workers<T: Sync>(
    items: &[T],
    workers: usize,
    work: impl Fn(&T) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<()> {
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.min(items.len()).max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if let Err(error) = work(item) {
                    failure
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(error);
                    next.store(usize::MAX / 2, Ordering::Relaxed);
                    break;
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
