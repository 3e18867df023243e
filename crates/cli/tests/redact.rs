//! `casebridge redact` as an engineer runs it on a support bundle.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const LOG: &str = "\
2026-11-28T10:00:01Z web01 sshd[1234]: Failed password for user alice from 10.20.30.40 port 52311
2026-11-28T10:00:02Z web01.corp.acme.com kernel: eth0 hwaddr 00:1A:2B:3C:4D:5E
2026-11-28T10:00:03Z app: connecting to postgres://svc:S3cr3tPa55@db1.corp.acme.com:5432/prod
Contact: Jane Doe <jane.doe@acme.com>, +1 555 010 0199
";

const SENSITIVE: &[&str] = &[
    "web01",
    "alice",
    "10.20.30.40",
    "3C:4D:5E",
    "S3cr3tPa55",
    "db1.corp",
    "acme.com",
    "Jane Doe",
    "jane.doe",
    "555 010 0199",
];

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(
            format!(
                "casebridge-redact-{}-{:?}",
                std::process::id(),
                std::time::SystemTime::now()
            )
            .replace([' ', ':', '{', '}', ','], ""),
        );
        fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A directory `name` holding `files` (name, content).
    fn files(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.path(name);
        fs::create_dir_all(&dir).unwrap();
        for (file, content) in files {
            fs::write(dir.join(file), content).unwrap();
        }
        dir
    }

    /// A support bundle: a log in a directory named after a host, a config, a binary and a
    /// symbolic link pointing out of the tree.
    fn bundle(&self) -> PathBuf {
        let bundle = self.path("bundle");
        fs::create_dir_all(bundle.join("logs/web01.corp.acme.com")).unwrap();
        fs::write(bundle.join("logs/web01.corp.acme.com/messages.log"), LOG).unwrap();
        fs::write(
            bundle.join("app.conf"),
            "db_host = db1.corp.acme.com\npassword = Hunter2Hunter2\n",
        )
        .unwrap();
        fs::write(bundle.join("core.bin"), b"ELF\0\x01\x02 jane.doe@acme.com").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", bundle.join("passwd-link")).unwrap();
        bundle
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `casebridge redact`, with no database configured.
fn redact_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_casebridge"));
    command.arg("redact").env_remove("CASEBRIDGE_DATABASE_URL");
    command
}

fn redact(args: &[&Path], extra: &[&str], stdin: Option<&str>) -> Output {
    let mut child = redact_command()
        .args(args)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        // A command that refuses its arguments exits before reading: that is not a failure.
        if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn assert_succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Redacts `input` into `out` with a report, which must succeed.
/// Redacts `input` into `out` with a report, and with a map seeded as [`seeded_map`] says
/// beside `out`.
fn redact_with_report(input: &Path, out: &Path, report: &Path) {
    let map = out.with_extension("map.json");
    seeded_map(&map);
    let args = [
        input,
        Path::new("-o"),
        out,
        Path::new("--report"),
        report,
        Path::new("--map"),
        &map,
    ];
    assert_succeeded(&redact(&args, &[], None));
}

/// Writes an owner's map at `path` with a fixed key and no entries, so that a run's
/// pseudonyms are the same every time. With a fresh random key a pseudonym may, by
/// chance, repeat a short piece of an original that a test checks is gone: a
/// prefix-preserving address keeps `10.` and draws the next octet at random, so one run in
/// 256 turns `10.20.0.0/16` into itself, and the ten hexadecimal digits of a pseudonym hold
/// `db03` about once in ten thousand.
fn seeded_map(path: &Path) {
    let key = "5c".repeat(32);
    fs::write(
        path,
        format!(
            r#"{{"version":{},"key":"{key}","entries":{{}}}}"#,
            casebridge_redact::MAP_VERSION
        ),
    )
    .unwrap();
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(all_files(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Every file under `out` (or `out` itself), each as its path below `out` and its text.
fn everything_in(out: &Path) -> String {
    if out.is_file() {
        return fs::read_to_string(out).unwrap();
    }
    let mut everything = String::new();
    for file in all_files(out) {
        everything.push_str(&file.strip_prefix(out).unwrap().to_string_lossy());
        everything.push('\n');
        everything.push_str(&fs::read_to_string(&file).unwrap());
    }
    everything
}

/// `file` as `casebridge redact --reveal` restores it with the owner's `map`, which must
/// succeed.
fn revealed(file: &Path, map: &Path) -> String {
    let revealed = redact(
        &[file, Path::new("--reveal"), Path::new("--map"), map],
        &[],
        None,
    );
    assert_succeeded(&revealed);
    String::from_utf8(revealed.stdout).unwrap()
}

/// Redacts `input` into the directory's `out` with its `map.json`, which must succeed.
/// Redacts `input` into `out` with the owner's map `map.json`, seeded as [`seeded_map`]
/// says.
fn redact_with_map(dir: &Dir, input: &Path) -> (PathBuf, PathBuf) {
    let (out, map) = (dir.path("out"), dir.path("map.json"));
    seeded_map(&map);
    let args = [input, Path::new("-o"), &out, Path::new("--map"), &map];
    assert_succeeded(&redact(&args, &[], None));
    (out, map)
}

/// Asserts that `text` holds none of `sensitive` and all of `kept`.
fn assert_hides_and_keeps(text: &str, sensitive: &[&str], kept: &[&str]) {
    for sensitive in sensitive {
        assert!(!text.contains(sensitive), "{sensitive} left in:\n{text}");
    }
    for kept in kept {
        assert!(text.contains(kept), "{kept} lost:\n{text}");
    }
}

#[test]
fn a_bundle_is_redacted_into_a_mirror_with_names_rewritten() {
    let dir = Dir::new();
    let bundle = dir.bundle();
    let out = dir.path("out");
    let map = dir.path("map.json");
    let report = dir.path("report.json");
    let output = redact(
        &[
            &bundle,
            Path::new("-o"),
            &out,
            Path::new("--map"),
            &map,
            Path::new("--report"),
            &report,
        ],
        &[],
        None,
    );
    assert_succeeded(&output);
    let files = all_files(&out);
    assert_eq!(
        files.len(),
        2,
        "the log and the config; binary and link left out: {files:?}"
    );
    for file in &files {
        let path = file.strip_prefix(&out).unwrap().display().to_string();
        let text = fs::read_to_string(file).unwrap();
        for secret in SENSITIVE {
            assert!(!text.contains(secret), "{secret} left in {path}:\n{text}");
            assert!(!path.contains(secret), "{secret} left in the name {path}");
        }
    }
    let log = files.iter().find(|f| f.ends_with("messages.log")).unwrap();
    let text = fs::read_to_string(log).unwrap();
    assert!(
        text.contains("from 10."),
        "private addresses stay private: {text}"
    );
    assert!(text.contains("00:1A:2B:"), "the manufacturer prefix stays");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("skipped core.bin: binary, left out"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped passwd-link: symbolic link, not followed"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    assert!(report["totals"]["CREDENTIALS"].as_u64().unwrap() >= 2);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2);
    assert_eq!(report["pseudonym_collisions"], 0);
    assert!(!stderr.contains("share a pseudonym"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&map).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // The partner's reply quotes pseudonyms; the owner's map restores them.
    let reply = dir.path("reply.txt");
    fs::write(&reply, format!("We looked at:\n{text}")).unwrap();
    let restored = revealed(&reply, &map);
    assert!(
        restored.contains("Failed password for user alice from 10.20.30.40"),
        "{restored}"
    );
    assert!(restored.contains("S3cr3tPa55@db1.corp.acme.com"));

    // A second run with the same map gives the same pseudonyms.
    let again = dir.path("again");
    let output = redact(
        &[&bundle, Path::new("-o"), &again, Path::new("--map"), &map],
        &[],
        None,
    );
    assert!(output.status.success());
    let again_log = all_files(&again)
        .into_iter()
        .find(|f| f.ends_with("messages.log"))
        .unwrap();
    assert_eq!(fs::read_to_string(again_log).unwrap(), text);
}

#[test]
fn an_output_of_a_dash_is_standard_output_for_a_file_and_a_reveal() {
    let dir = Dir::new();
    let input = dir.path("in.log");
    fs::write(&input, "login from alice@acme.com\n").unwrap();
    let map = dir.path("map.json");
    let run = |args: &[&str]| {
        let mut command = redact_command();
        command.args(args).current_dir(&dir.0).output().unwrap()
    };
    let output = run(&["in.log", "-o", "-", "--map", "map.json"]);
    assert_succeeded(&output);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("login from ") && !text.contains("alice"),
        "{text}"
    );
    fs::write(dir.path("reply.txt"), &text).unwrap();
    let revealed = run(&["reply.txt", "--reveal", "--map", "map.json", "-o", "-"]);
    assert_succeeded(&revealed);
    assert_eq!(revealed.stdout, b"login from alice@acme.com\n");
    assert!(!dir.path("-").exists(), "no file named `-` was written");
    assert!(map.exists());
    // A directory has no one stream to write to.
    let refused = run(&[".", "-o", "-"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("give an output directory"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn standard_input_goes_to_standard_output_with_keywords_and_policy() {
    let dir = Dir::new();
    let policy = dir.path("policy.toml");
    fs::write(
        &policy,
        "[actions]\nCREDENTIALS = \"mask\"\nHOSTNAMES = \"keep\"\n",
    )
    .unwrap();
    let findings = dir.path("findings.jsonl");
    let output = redact(
        &[
            Path::new("-"),
            Path::new("--policy"),
            &policy,
            Path::new("--findings"),
            &findings,
        ],
        &["--keyword", "Project Falcon"],
        Some("project falcon: password=Hunter2Hunter2 on db1.corp.acme.com\n"),
    );
    assert_succeeded(&output);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("REDACTED-0-"), "{text}");
    assert!(text.contains("password=**************"), "{text}");
    assert!(text.contains("db1.corp.acme.com"), "hosts kept by policy");
    let lines = fs::read_to_string(&findings).unwrap();
    let kinds: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["custom", "password", "hostname"]);
    assert!(
        lines.contains("\"start\":25") && !lines.contains("Hunter2"),
        "{lines}"
    );
}

#[test]
fn mistakes_are_explained_and_nothing_partial_is_left() {
    let dir = Dir::new();
    let bundle = dir.bundle();
    let existing = dir.path("existing");
    fs::create_dir_all(&existing).unwrap();
    let output = redact(&[&bundle, Path::new("-o"), &existing], &[], None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));

    let no_output = redact(&[&bundle], &[], None);
    assert!(String::from_utf8_lossy(&no_output.stderr).contains("give an output directory"));

    let policy = dir.path("bad.toml");
    fs::write(&policy, "[actions]\nCONTACT = \"shred\"\n").unwrap();
    let bad = redact(
        &[
            &bundle,
            Path::new("-o"),
            &dir.path("o2"),
            Path::new("--policy"),
            &policy,
        ],
        &[],
        None,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not valid"));
    assert!(!dir.path("o2").exists());

    let missing = redact(&[&dir.path("nope.log")], &[], None);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));

    let map = dir.path("map.json");
    fs::write(&map, "{not json").unwrap();
    let bad_map = redact(
        &[
            &bundle,
            Path::new("-o"),
            &dir.path("o3"),
            Path::new("--map"),
            &map,
        ],
        &[],
        None,
    );
    assert!(String::from_utf8_lossy(&bad_map.stderr).contains("is not valid"));

    // Revealing with a map that does not exist restores nothing: say so instead.
    let no_map = redact(
        &[
            &bundle.join("app.conf"),
            Path::new("--reveal"),
            Path::new("--map"),
            &dir.path("absent.json"),
        ],
        &[],
        None,
    );
    assert!(!no_map.status.success());
    assert!(String::from_utf8_lossy(&no_map.stderr).contains("cannot read the map"));

    let dry = redact(
        &[
            &bundle,
            Path::new("-o"),
            &dir.path("o4"),
            Path::new("--dry-run"),
        ],
        &[],
        None,
    );
    assert!(dry.status.success());
    assert!(!dir.path("o4").exists(), "a dry run writes nothing");
    assert!(String::from_utf8_lossy(&dry.stderr).contains("dry run, nothing written"));
    let leftovers: Vec<_> = fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn invalid_utf8_is_handled_byte_wise() {
    let dir = Dir::new();
    let input = dir.path("latin1.log");
    fs::write(&input, b"caf\xe9 user alice from 10.0.0.7\n\xff\xfe end\n").unwrap();
    let output = redact(&[&input], &[], None);
    assert!(output.status.success());
    assert!(output.stdout.starts_with(b"caf\xe9 user user-"));
    assert!(output.stdout.ends_with(b"\n\xff\xfe end\n"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("alice"));
}

#[test]
fn an_archived_bundle_comes_out_as_an_archive() {
    let dir = Dir::new();
    let bundle = dir.bundle();
    fs::remove_file(bundle.join("passwd-link")).ok();
    let archive = dir.path("bundle.tar.gz");
    let made = Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir.0)
        .arg("bundle")
        .status()
        .unwrap();
    assert!(made.success());
    let out = dir.path("clean.tar.gz");
    let report = dir.path("report.json");
    redact_with_report(&archive, &out, &report);
    let unpacked = dir.path("unpacked");
    fs::create_dir_all(&unpacked).unwrap();
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&out)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success(), "the output is a valid tar.gz");
    let files = all_files(&unpacked);
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let path = file.display().to_string();
        for secret in SENSITIVE {
            assert!(
                !text.contains(secret) && !path.contains(secret),
                "{secret} left in {path}"
            );
        }
    }
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    let skipped = report["skipped"].to_string();
    assert!(
        skipped.contains("core.bin") && skipped.contains("binary"),
        "{skipped}"
    );
}

#[test]
fn a_map_of_an_earlier_format_still_reveals_but_is_not_extended() {
    let dir = Dir::new();
    let key = "07".repeat(32);
    let map = dir.path("old.json");
    let old = format!(
        r#"{{"version":1,"key":"{key}","entries":{{"Person-1a2b3c":{{"original":"Jane Doe","category":"CONTACT","kind":"person_name"}}}}}}"#
    );
    fs::write(&map, &old).unwrap();
    let reply = dir.path("reply.txt");
    fs::write(&reply, "Person-1a2b3c says hi").unwrap();
    assert_eq!(revealed(&reply, &map), "Jane Doe says hi");

    let out = dir.path("out");
    let input = dir.path("in.txt");
    fs::write(&input, "Regards,\nJane Doe\n").unwrap();
    // A run with `map` fails, writes nothing, and says why.
    let refusal = |map: &Path| {
        let refused = redact(
            &[&input, Path::new("-o"), &out, Path::new("--map"), map],
            &[],
            None,
        );
        assert!(!refused.status.success());
        assert!(!out.exists(), "nothing is written");
        String::from_utf8_lossy(&refused.stderr).into_owned()
    };
    let stderr = refusal(&map);
    assert!(
        stderr.contains("earlier casebridge (map format 1)"),
        "{stderr}"
    );
    assert!(stderr.contains("new --map"), "{stderr}");
    assert_eq!(
        fs::read_to_string(&map).unwrap(),
        old,
        "the old map is untouched"
    );
    // A format-2 map: only host names and email addresses changed since.
    let format_2 = dir.path("format-2.json");
    fs::write(&format_2, old.replace(r#""version":1"#, r#""version":2"#)).unwrap();
    let stderr = refusal(&format_2);
    assert!(
        stderr.contains("(map format 2), whose pseudonyms for host names and email"),
        "{stderr}"
    );

    let newer = dir.path("newer.json");
    fs::write(&newer, old.replace(r#""version":1"#, r#""version":9"#)).unwrap();
    assert!(refusal(&newer).contains("newer casebridge (map format 9)"));
}

#[test]
fn a_value_that_loses_its_pseudonym_to_another_is_reported() {
    let dir = Dir::new();
    let input = dir.path("in.log");
    fs::write(&input, "Failed password for user alice from 10.20.30.40\n").unwrap();
    let map = dir.path("map.json");
    let first = redact(
        &[
            &input,
            Path::new("-o"),
            &dir.path("out1"),
            Path::new("--map"),
            &map,
        ],
        &[],
        None,
    );
    assert!(first.status.success());
    // The map now says alice's pseudonym stands for somebody else: the next run meets
    // alice again, gives her that pseudonym, and cannot record her.
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&map).unwrap()).unwrap();
    let entries = json["entries"].as_object_mut().unwrap();
    let (_, entry) = entries
        .iter_mut()
        .find(|(_, e)| e["original"] == "alice")
        .unwrap();
    entry["original"] = "bob".into();
    fs::write(&map, json.to_string()).unwrap();
    let report = dir.path("report.json");
    let second = redact(
        &[
            &input,
            Path::new("-o"),
            &dir.path("out2"),
            Path::new("--map"),
            &map,
            Path::new("--report"),
            &report,
        ],
        &[],
        None,
    );
    assert!(second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("warning: 1 value(s) share a pseudonym with another value"),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["pseudonym_collisions"], 1);
    assert!(!fs::read_to_string(&map).unwrap().contains("\"alice\""));
}

#[test]
fn a_user_named_in_one_file_is_replaced_in_every_file() {
    let dir = Dir::new();
    // The user is named as one only in the first file (and comes after the second in
    // the walk); nothing in the second says it is a user: the first pass learns the
    // name, the second replaces it everywhere.
    let bundle = dir.files(
        "bundle",
        &[
            (
                "b-secure.log",
                "sshd[9]: pam_unix(sshd:session): session opened for user priyar by (uid=0)\n\
                 sudo: pam_unix(sudo:session): session opened for user postgres\n",
            ),
            (
                "a-messages.log",
                "su: (to root) priyar on pts/1\n\
                 logind: priyar logged out; systemctl restart postgres\n",
            ),
        ],
    );
    let out = dir.path("out");
    let report = dir.path("report.json");
    redact_with_report(&bundle, &out, &report);
    let messages = fs::read_to_string(out.join("a-messages.log")).unwrap();
    let secure = fs::read_to_string(out.join("b-secure.log")).unwrap();
    assert!(
        !messages.contains("priyar") && !secure.contains("priyar"),
        "{messages}{secure}"
    );
    let pseudonym = secure
        .split_whitespace()
        .find(|word| word.starts_with("user-"))
        .unwrap();
    assert_eq!(
        messages.matches(pseudonym).count(),
        2,
        "the same pseudonym in both files: {messages}"
    );
    assert!(
        messages.contains("systemctl restart postgres"),
        "an account every system has stays where it stands alone: {messages}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["totals"]["ACCOUNT_IDENTIFIERS"], 4, "{report}");
}

#[test]
fn allowed_values_and_domains_are_left_where_they_stand() {
    let dir = Dir::new();
    let bundle = dir.files(
        "bundle",
        &[
            (
                "a.log",
                "workdir /home/appuser/app for user=alice\n\
                 GET https://api.github.com/repos ok; mirror gitlab.com; docs www.example.org\n",
            ),
            ("b.log", "appuser exited; alice logged out\n"),
        ],
    );
    let run = |out: &str, extra: &[&str]| {
        let out = dir.path(out);
        let output = redact(&[&bundle, Path::new("-o"), &out], extra, None);
        assert_succeeded(&output);
        let read = |name: &str| fs::read_to_string(out.join(name)).unwrap();
        (read("a.log"), read("b.log"))
    };
    // Without an allow list the account learned from its home directory goes everywhere.
    let (a, b) = run("plain", &[]);
    assert!(
        !a.contains("/home/appuser/") && !b.contains("appuser exited"),
        "{a}{b}"
    );
    assert!(!a.contains("api.github.com"), "{a}");
    // Documentation's names are left alone in any case.
    assert!(a.contains("docs www.example.org"), "{a}");

    let (a, b) = run(
        "allowed",
        &["--allow", "APPUSER", "--allow-domain", "github.com"],
    );
    assert!(
        a.contains("/home/appuser/app") && b.starts_with("appuser exited"),
        "{a}{b}"
    );
    assert!(a.contains("https://api.github.com/repos"), "{a}");
    // What is not allowed is still replaced, in every file.
    assert!(!a.contains("alice") && !b.contains("alice"), "{a}{b}");
    assert!(!a.contains("gitlab.com"), "{a}");

    for (flag, value, says) in [
        ("--allow-domain", "co.uk", "co.uk"),
        ("--allow-domain", "git hub.com", "git hub.com"),
        ("--keyword", "x", "keyword"),
    ] {
        let out = dir.path("refused");
        let output = redact(&[&bundle, Path::new("-o"), &out], &[flag, value], None);
        assert!(!output.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
        assert!(!out.exists(), "nothing written for {flag} {value}");
    }
}

/// A RHEL sos report as support receives it: the host's name in the archive's own name and
/// in a connection's file name, the directory's realm in capitals and as a distinguished
/// name, accounts in passwd and shadow lines and in cron's and sudo's lines, password
/// hashes and a bind password. Nothing of the host or its people may be left, in any
/// file's content or name, and what names no one (system accounts, `ps`'s header) stays.
#[test]
fn a_sos_report_keeps_nothing_of_its_host_its_directory_or_its_accounts() {
    let dir = Dir::new();
    let bundle = dir.path("bundle");
    let root = bundle.join("sosreport-db03-2026-12-04-abcd");
    let files = [
        ("etc/hostname", "db03.corp.acme-bank.com\n"),
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/bash\n\
             postgres:x:26:26:PostgreSQL Server:/var/lib/pgsql:/bin/bash\n\
             svc_backup:x:1002:1002:Backup service:/var/lib/backup:/sbin/nologin\n",
        ),
        (
            "etc/shadow",
            "root:*:19000:0:99999:7:::\n\
             mkowalski:$6$Qx7eR2pL$0123456789abcdefABCDEF/.xyz0123456789abcdefABCDEF:19000:0:99999:7:::\n",
        ),
        (
            "etc/krb5.conf",
            "[domain_realm]\n .corp.acme-bank.com = CORP.ACME-BANK.COM\n corp.acme-bank.com = CORP.ACME-BANK.COM\n",
        ),
        (
            "etc/sssd/sssd.conf",
            "[domain/corp.acme-bank.com]\n\
             ldap_default_bind_dn = CN=svc_sssd,OU=Service Accounts,DC=corp,DC=acme-bank,DC=com\n\
             ldap_default_authtok = S3cr3t!Bind2024\n",
        ),
        (
            "etc/pgbouncer/userlist.txt",
            "\"app_rw\" \"SCRAM-SHA-256$4096:c2FsdHNhbHQ=$abc123def456/ghi789+jkl=:mno0pqr1stu2vwx3yz4ABC5DEF6==\"\n\
             \"reporting\" \"md5a3c1b2d9e8f7a6b5c4d3e2f1a0b9c8d7\"\n",
        ),
        (
            "etc/NetworkManager/system-connections/db03-bond0.nmconnection",
            "[connection]\nid=db03-bond0\ninterface-name=bond0\n",
        ),
        (
            "var/log/messages",
            "Dec  4 10:01:05 db03 sudo[1240]:     jdoe : TTY=pts/0 ; PWD=/home/jdoe ; USER=root ; COMMAND=/usr/bin/true\n\
             Dec  4 10:02:00 db03 CROND[5000]: (svc_backup) CMD (/usr/local/bin/pg-backup.sh)\n",
        ),
        (
            "sos_commands/process/ps_auxww",
            "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\n\
             postgres    3101  0.0  0.2 226844 17240 ?        Ss   10:02   0:00 postgres: checkpointer\n",
        ),
    ];
    for (path, content) in files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    let out = dir.path("out");
    let report = dir.path("report.json");
    redact_with_report(&bundle, &out, &report);
    let everything = everything_in(&out);
    let sensitive = [
        "db03",
        "acme-bank",
        "dc=corp",
        "svc_backup",
        "mkowalski",
        "svc_sssd",
        "jdoe",
        "s3cr3t",
        "qx7er2pl",
        "c2fsdhnhbhq",
        "md5a3c1b2d9",
    ];
    // In any letter case.
    assert_hides_and_keeps(&everything.to_lowercase(), &sensitive, &[]);
    let kept = [
        "USER         PID %CPU",
        "postgres:x:26:26:PostgreSQL Server",
        "root:*:19000",
        "interface-name=bond0",
        "/usr/local/bin/pg-backup.sh",
    ];
    assert_hides_and_keeps(&everything, &[], &kept);
    // The archive's name and the connection's keep their shape around the host's.
    let names: Vec<String> = all_files(&out)
        .iter()
        .map(|f| f.strip_prefix(&out).unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("sosreport-h") && n.contains("-2026-12-04-abcd/")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.contains("-bond0.nmconnection")),
        "{names:?}"
    );
}

/// A Kubernetes must-gather: secrets and a kubeconfig as `kubectl get -o yaml` writes them
/// (private keys and a registry's credentials in base64, a token), a pod's environment as
/// name/value pairs, nodes named in file names. No secret and no node's name or address
/// may be left; certificates, which are public, and the manifests' own words stay.
#[test]
fn a_must_gather_keeps_no_secret_and_no_node() {
    let dir = Dir::new();
    let root = dir.path("must-gather");
    let key = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBdGVzdA==";
    let cert = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUN0ZXN0Y2VydA==";
    let docker = "eyJhdXRocyI6eyJyZWdpc3RyeS5hY21lLWJhbmsuY29tIjp7ImF1dGgiOiJZV1J0YVc0PSJ9fX0=";
    let files = [
        (
            "cluster-scoped-resources/core/nodes/worker-2.ocp4.acme-bank.com.yaml".to_owned(),
            "metadata:\n  name: worker-2.ocp4.acme-bank.com\nstatus:\n  addresses:\n  - address: 10.0.2.41\n    type: InternalIP\n".to_owned(),
        ),
        (
            "namespaces/payments/core/secrets.yaml".to_owned(),
            format!("- data:\n    tls.crt: {cert}\n    tls.key: {key}\n  type: kubernetes.io/tls\n- data:\n    .dockerconfigjson: {docker}\n"),
        ),
        (
            "kubeconfig".to_owned(),
            format!("users:\n- name: admin\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n- name: bot\n  user:\n    token: sha256~Xk3p9QvL2mN8rT5wY7zA1bC4dE6fG0hJ2kL4mN6pQ8r\n"),
        ),
        (
            "namespaces/payments/pods/ledger/ledger.yaml".to_owned(),
            "spec:\n  containers:\n  - env:\n    - name: DB_PASSWORD\n      value: Tr0ub4dor-Ledger\n    - name: JAVA_OPTS\n      value: -Djavax.net.ssl.trustStorePassword=changeit2024\n  nodeName: worker-2.ocp4.acme-bank.com\n".to_owned(),
        ),
    ];
    for (path, content) in &files {
        let path = root.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    let out = dir.path("out");
    redact_with_report(&root, &out, &dir.path("report.json"));
    let sensitive = [
        key,
        docker,
        "Xk3p9QvL",
        "Tr0ub4dor",
        "changeit2024",
        "worker-2",
        "acme-bank",
        "10.0.2.41",
    ];
    let kept = [
        format!("tls.crt: {cert}"),
        format!("client-certificate-data: {cert}"),
        "- name: DB_PASSWORD".to_owned(),
        "type: InternalIP".to_owned(),
    ];
    let kept: Vec<&str> = kept.iter().map(String::as_str).collect();
    assert_hides_and_keeps(&everything_in(&out), &sensitive, &kept);
}

/// A ticket with a pasted terminal session: prompts, an SSH key, database and registry
/// commands with their accounts and passwords. None may leave; what an engineer reads to
/// follow the session (the commands, `root`, the options) stays.
#[test]
fn a_pasted_terminal_session_keeps_no_account_host_or_password() {
    let dir = Dir::new();
    let input = dir.path("ticket.txt");
    fs::write(
        &input,
        "Hi team, here is what I ran:\n\
         [jdoe@ws-jdoe-0142 ~]$ ssh -l jdoe db03\n\
         [root@db03 ~]# mysql -u dbadmin -pS3cretPass! billing\n\
         [root@db03 ~]# PGPASSWORD=hunter22 psql -U lchen billing\n\
         rkumar@build-07:~/src$ docker login -u rkumar -p Dock3rPass registry\n\
         rkumar@build-07:~/src$ curl -u alice:Adm1nPass https://10.0.0.7/status\n\
         rkumar@build-07:~/src$ redis-cli -a R3disPass ping\n\
         rkumar@build-07:~/src$ cat ~/.ssh/authorized_keys\n\
         ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9xyz mkowalski@laptop-mk\n\
         Later jdoe saw the same on build-07.\n",
    )
    .unwrap();
    let out = dir.path("out.txt");
    redact_with_report(&input, &out, &dir.path("report.json"));
    let text = fs::read_to_string(&out).unwrap();
    let sensitive = [
        "jdoe",
        "ws-jdoe-0142",
        "db03",
        "dbadmin",
        "S3cretPass",
        "hunter22",
        "lchen",
        "rkumar",
        "build-07",
        "Dock3rPass",
        "alice",
        "Adm1nPass",
        "R3disPass",
        "mkowalski",
        "laptop-mk",
    ];
    let kept = [
        "[root@",
        "mysql -u ",
        " psql -U ",
        "docker login -u ",
        "redis-cli -a ",
        "cat ~/.ssh/authorized_keys",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9xyz ",
    ];
    assert_hides_and_keeps(&text, &sensitive, &kept);
}

/// What a database server's support bundle holds: its hosts file, access rules, a dump's
/// grants, an application's settings and connection strings.
#[test]
fn a_cloud_and_identity_bundle_keeps_no_signature_webhook_document_or_mounted_host() {
    let dir = Dir::new();
    let bundle = dir.path("bundle");
    fs::create_dir_all(&bundle).unwrap();
    fs::write(
        bundle.join("backup.log"),
        "GET https://acmestore.blob.core.windows.net/b/db.bak?sv=2021-06-08&sp=rl&sig=Vq3kT9%2FzX8mN2pL7vR9sT1uW3y%3D&se=2026\n\
         alerts to https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/Xk92mPq4rTzz8YpQwErTyUio\n\
         nfs01:/export/home on /home type nfs (rw)\n\
         DATABASE_URL=postgres://db-prod-01.internal:5432/app\n\
         mysqldump -h db-prod-01 app > app.sql; ping db-prod-01\n\
         link/ether 52:54:00:ab:cd:ef brd ff:ff:ff:ff:ff:ff; mdns 224.0.0.251 ff02::fb\n\
         java -Duser.home=/srv/app -jar app.jar\n",
    )
    .unwrap();
    fs::write(
        bundle.join("ticket.txt"),
        "Requester: Fatima Al-Hassan\n\
         Customer number: 4471-2291\n\
         Date of birth: 1984-03-12\n\
         Passport No: C01X00T47\n\
         Driver's license: D1234567\n",
    )
    .unwrap();
    fs::write(
        bundle.join("key.ppk"),
        "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: key\nPublic-Lines: 1\n\
         AAAAB3NzaC1yc2E\nPrivate-Lines: 2\nAAABAQCXkq3Yb8mPL2v7\nQx9TzRnWkq3Yb8mP==\nPrivate-MAC: 0a1b\n",
    )
    .unwrap();
    let (out, map) = redact_with_map(&dir, &bundle);
    let text = everything_in(&out);
    let sensitive = [
        "Vq3kT9",
        "Xk92mPq4rTzz8YpQwErTyUio",
        "nfs01",
        "db-prod-01",
        "52:54:00:ab:cd:ef",
        "Al-Hassan",
        "4471-2291",
        "1984-03-12",
        "C01X00T47",
        "D1234567",
        "AAABAQCXkq3Yb8mPL2v7",
        "Qx9TzRnW",
    ];
    // What names no one stays as an engineer reads it: broadcast and multicast
    // addresses, a signed URL's other parameters, Java's own property.
    let kept = [
        "brd ff:ff:ff:ff:ff:ff",
        "224.0.0.251 ff02::fb",
        "sv=2021-06-08&sp=rl&sig=",
        "&se=2026",
        "-Duser.home=/srv/app",
        "Private-MAC: 0a1b",
        "/export/home on /home type nfs",
    ];
    assert_hides_and_keeps(&text, &sensitive, &kept);
    // The owner's map turns them back.
    let restored = revealed(&out.join("ticket.txt"), &map);
    assert!(
        restored.contains("Passport No: C01X00T47") && restored.contains("Al-Hassan"),
        "{restored}"
    );
}

#[test]
fn a_database_servers_bundle_keeps_no_account_host_or_password() {
    let dir = Dir::new();
    let bundle = dir.path("bundle");
    fs::create_dir_all(bundle.join("etc")).unwrap();
    fs::write(
        bundle.join("etc/hosts"),
        "127.0.0.1 localhost\n10.20.30.42  ldap02  # directory\n",
    )
    .unwrap();
    fs::write(
        bundle.join("etc/pg_hba.conf"),
        "local   all     all                     peer\n\
         host    app     app_user  10.20.0.0/16  scram-sha-256\n",
    )
    .unwrap();
    fs::write(
        bundle.join("etc/shadow"),
        "root:$6$saltsalt$K8jZ1Qx9vX0mY2nT3pL4kR5sW6uV7yA8bC9dE0f:19700:0:99999:7:::\n",
    )
    .unwrap();
    fs::write(
        bundle.join("grants.sql"),
        "CREATE USER 'reporting'@'%' IDENTIFIED BY 'R3port;Pass!';\n\
         GRANT SELECT ON app.* TO 'reporting'@'%';\n\
         ALTER USER app_user WITH PASSWORD 'Pg5ecret,X';\n",
    )
    .unwrap();
    fs::write(
        bundle.join("app.env"),
        "SECRET_KEY_BASE=9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928\n\
         CACHE_URL=redis://:R3disPass@cache-01:6379/0\n\
         ORDERS_DB=Server=sql-prod-02;Database=Orders;User Id=svc_orders;\n\
         RESET_LINK=https://portal.acme.com/reset?email=jdoe%40acme.com\n",
    )
    .unwrap();
    fs::write(
        bundle.join("app.log"),
        "ERROR bind to ldap02 failed; route 10.20.16.0/20 via 10.20.16.1\n",
    )
    .unwrap();
    let (out, map) = redact_with_map(&dir, &bundle);
    let text = everything_in(&out);
    let sensitive = [
        "ldap02",
        "app_user",
        "K8jZ1Qx9vX0mY2nT3pL4kR5sW6uV7yA8bC9dE0f",
        "reporting",
        "R3port;Pass!",
        "Pg5ecret,X",
        "9f8e7d6c5b4a3928",
        "R3disPass",
        "cache-01",
        "sql-prod-02",
        "svc_orders",
        "jdoe",
        "acme.com",
        "10.20.",
    ];
    let kept = [
        "root:",
        "local   all     all",
        "%40",
        "/16  scram",
        "/20 via",
    ];
    assert_hides_and_keeps(&text, &sensitive, &kept);
    // A network stays a network, its hosts inside it.
    let log = fs::read_to_string(out.join("app.log")).unwrap();
    let route = log.split("route ").nth(1).unwrap();
    let (network, rest) = route.split_once('/').unwrap();
    let network: std::net::Ipv4Addr = network.parse().unwrap();
    let gateway: std::net::Ipv4Addr = rest.split(' ').nth(2).unwrap().trim().parse().unwrap();
    assert_eq!(u32::from(network) & 0xfff, 0, "{log}");
    assert_eq!(u32::from(gateway) >> 12, u32::from(network) >> 12, "{log}");

    // The owner's map turns the network and the encoded address back.
    let restored = revealed(&out.join("app.log"), &map);
    assert!(
        restored.contains("route 10.20.16.0/20 via 10.20.16.1"),
        "{restored}"
    );
    assert!(restored.contains("bind to ldap02"), "{restored}");
}

#[test]
fn a_browser_capture_and_a_shell_history_keep_no_session_or_destination() {
    let dir = Dir::new();
    let bundle = dir.path("bundle");
    fs::create_dir_all(&bundle).unwrap();
    // A HAR capture, as a customer's browser saves it for support: session cookies in a
    // header, in the cookie list and in a response.
    fs::write(
        bundle.join("portal.har"),
        r#"{"log": {"entries": [{"request": {"url": "https://portal.acme.com/api/me",
  "headers": [{"name": "Cookie", "value": "_portal_session=Qm9iYnlUYWJsZXM6MTIzNDU2Nzg5MA%3D%3D--a1b2c3d4e5; lang=en-US"}],
  "cookies": [{"name": "sid", "value": "s%3Ak2l9m3n8b4v7c1x6z5a0.Rt4vWz8yBc3hJk5Lm7"},
              {"name": "okta-oauth-state", "value": "Xj3kL9mQ2pR5sT8vW1yZ4aB7cD0eF"},
              {"name": "lang", "value": "en-US"}]},
 "response": {"status": 200, "headers": [{"name": "Set-Cookie", "value": "sid=Vb7Nm3Kl9Jh5Gf1Ds8Aq2We4Rt6Yu0Io; Path=/; Secure"}]}}]}}
"#,
    )
    .unwrap();
    fs::write(
        bundle.join("bash_history"),
        "ssh -i ~/.ssh/ops mkowalski@bastion-02\n\
         scp dump.sql mkowalski@10.40.7.21:/tmp/\n\
         sshpass -p 'Tr0ub4dor&3' ssh deploy@web-07\n\
         ldapsearch -x -D cn=admin,dc=acme,dc=com -w Adm1nPw0rd -b dc=acme,dc=com\n",
    )
    .unwrap();
    fs::write(
        bundle.join("netrc"),
        "machine files.acme.com login mkowalski password N3trcPassw0rd\n",
    )
    .unwrap();
    let (out, map) = redact_with_map(&dir, &bundle);
    let text = everything_in(&out);
    let sensitive = [
        "Qm9iYnlUYWJsZXM6MTIzNDU2Nzg5MA",
        "k2l9m3n8b4v7c1x6z5a0",
        "Xj3kL9mQ2pR5sT8vW1yZ4aB7cD0eF",
        "Vb7Nm3Kl9Jh5Gf1Ds8Aq2We4Rt6Yu0Io",
        "mkowalski",
        "bastion-02",
        "10.40.7.21",
        "Tr0ub4dor",
        "&3'",
        "web-07",
        "Adm1nPw0rd",
        "acme",
        "N3trcPassw0rd",
    ];
    // What names no one stays: a language cookie, the commands and their options.
    let kept = [
        r#"{"name": "lang", "value": "en-US"}"#,
        "; lang=en-US",
        "Path=/; Secure",
        "ssh -i ~/.ssh/ops ",
        "ldapsearch -x -D cn=admin,dc=",
        "machine ",
        " login ",
        " password ",
    ];
    assert_hides_and_keeps(&text, &sensitive, &kept);
    // One account, one pseudonym, in every file; the owner's map turns it back.
    let history = fs::read_to_string(out.join("bash_history")).unwrap();
    let netrc = fs::read_to_string(out.join("netrc")).unwrap();
    let account = history
        .split_once("ops ")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(account, _)| account.to_string())
        .unwrap();
    assert!(netrc.contains(&format!("login {account} ")), "{netrc}");
    let restored = revealed(&out.join("bash_history"), &map);
    assert!(
        restored.contains("mkowalski@bastion-02") && restored.contains("'Tr0ub4dor&3'"),
        "{restored}"
    );
}
