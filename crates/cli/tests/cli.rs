//! The binary as an operator uses it: one JSON object on stdout per command, clear errors,
//! an audit trail whose tampering is detected, and logs that hold no personal data.
//! Each story runs on SQLite, and on PostgreSQL when `CASEBRIDGE_TEST_POSTGRES_URL` is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

use casebridge_store::testing::TestDatabase;
use serde_json::Value;
use sha2::Digest;
use sqlx::{AnyConnection, Connection, Executor};
use support::http;

mod support;

casebridge_store::database_stories!(
    |db, story| story(&db).await;
    operators_onboard_members_users_and_agreements,
    operator_input_errors_are_explained_and_change_nothing,
    audit_verify_detects_a_changed_event,
    audit_verify_detects_a_removed_event,
    audit_verify_detects_reordered_events,
    audit_verify_detects_a_removed_newest_event,
);

fn casebridge(db: &TestDatabase, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casebridge"))
        .args(args)
        .env("CASEBRIDGE_DATABASE_URL", &db.url)
        .env_remove("CASEBRIDGE_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run casebridge");
    if let Some(input) = stdin {
        // A command that refuses its arguments exits before reading: that is not a failure.
        if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Runs a command that must succeed and returns the JSON it printed.
fn ok(db: &TestDatabase, args: &[&str], stdin: Option<&str>) -> Value {
    let output = casebridge(db, args, stdin);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object on stdout: {stdout}"
    );
    serde_json::from_str(&stdout).unwrap()
}

fn migrate(db: &TestDatabase) {
    assert_eq!(ok(db, &["migrate"], None)["migrated"], true);
}

fn user_args<'a>(member: &'a str, email: &'a str, role: &'a str) -> Vec<&'a str> {
    let names = [
        "--first-name",
        "Ana",
        "--last-name",
        "Silva",
        "--password-stdin",
    ];
    let mut args = vec![
        "user", "create", "--member", member, "--email", email, "--role", role,
    ];
    args.extend(names);
    args
}

/// Writes `text` to a temporary file and publishes it as the framework agreement.
fn publish(db: &TestDatabase, title: &str, text: &str) -> Value {
    let file = std::env::temp_dir().join(format!("agreement-{}.txt", uuid_like()));
    std::fs::write(&file, text).unwrap();
    let args = [
        "agreement",
        "publish",
        "--title",
        title,
        "--file",
        file.to_str().unwrap(),
    ];
    let published = ok(db, &args, None);
    std::fs::remove_file(file).ok();
    published
}

fn uuid_like() -> String {
    format!("{}-{:?}", std::process::id(), std::time::SystemTime::now())
        .replace(|c: char| !c.is_ascii_alphanumeric(), "")
}

fn create_member(db: &TestDatabase, name: &str, domains: &[&str]) -> Value {
    let mut args = vec!["member", "create", "--name", name];
    for domain in domains {
        args.extend(["--domain", domain]);
    }
    ok(db, &args, None)
}

/// Two members, a user and two agreement versions: five audit events.
fn onboard(db: &TestDatabase) {
    migrate(db);
    let member = create_member(db, "Acme", &["acme.example"]);
    let id = member["id"].as_str().unwrap();
    let admin = user_args(id, "ana@acme.example", "admin");
    ok(db, &admin, Some("a long admin passphrase\n"));
    publish(db, "Framework", "Share only what is needed.\n");
    publish(db, "Framework", "Share only what is needed, v2.\n");
    create_member(db, "Globex", &["globex.example"]);
}

async fn operators_onboard_members_users_and_agreements(db: &TestDatabase) {
    migrate(db);
    migrate(db);
    let member = create_member(
        db,
        "Acme Storage",
        &["acme.example", "acme-storage.example"],
    );
    assert_eq!(member["name"], "Acme Storage");
    let id = member["id"].as_str().unwrap();
    let admin = user_args(id, "ana@acme-storage.example", "admin");
    let user = ok(db, &admin, Some("a long admin passphrase\n"));
    assert_eq!(user["id"].as_str().unwrap().len(), 36);

    let text = "Members share only what is needed.\n";
    let v1 = publish(db, "Framework", text);
    assert_eq!(v1["version"], 1);
    assert_eq!(
        v1["sha256"],
        hex::encode(sha2::Sha256::digest(text.as_bytes()))
    );
    let v2 = publish(db, "Framework v2", text);
    assert_eq!(v2["version"], 2);
    assert_ne!(v1["id"], v2["id"]);
    let verify = ok(db, &["audit", "verify"], None);
    assert_eq!(verify, serde_json::json!({"intact": true, "events": 4}));
}

fn fails_with(db: &TestDatabase, args: &[&str], stdin: Option<&str>, message: &str) {
    let output = casebridge(db, args, stdin);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(output.stdout.is_empty(), "nothing on stdout when failing");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr}"
    );
}

async fn operator_input_errors_are_explained_and_change_nothing(db: &TestDatabase) {
    migrate(db);
    let member = create_member(db, "Acme", &["acme.example"]);
    let id = member["id"].as_str().unwrap();
    let password = Some("a long user passphrase\n");
    let elsewhere = user_args(id, "priya@elsewhere.example", "engineer");
    fails_with(
        db,
        &elsewhere,
        password,
        "must be on one of the member's domains",
    );
    let priya = user_args(id, "priya@acme.example", "engineer");
    fails_with(
        db,
        &priya,
        Some("short\n"),
        "password: must be at least 12 characters",
    );
    fails_with(db, &priya, Some(""), "no password on standard input");
    let root = user_args(id, "priya@acme.example", "root");
    fails_with(
        db,
        &root,
        password,
        "must be one of admin, manager, engineer, auditor",
    );
    let unknown = user_args(
        "01a22508-a5bb-7557-b71d-fbc0588e187b",
        "x@acme.example",
        "admin",
    );
    fails_with(db, &unknown, password, "no such member");
    let create = ["member", "create", "--name"];
    fails_with(
        db,
        &[&create[..], &["Acme", "--domain", "other.example"]].concat(),
        None,
        "already exists",
    );
    fails_with(
        db,
        &[&create[..], &["Bad", "--domain", "not a domain"]].concat(),
        None,
        "domain",
    );
    fails_with(db, &[&create[..], &["NoDomain"]].concat(), None, "--domain");
    let missing = [
        "agreement",
        "publish",
        "--title",
        "T",
        "--file",
        "/nonexistent/terms.txt",
    ];
    fails_with(db, &missing, None, "cannot read");
    let serve = ["serve", "--listen", "127.0.0.1:0", "--smtp-url"];
    fails_with(
        db,
        &[
            &serve[..],
            &[
                "smtps://127.0.0.1:465",
                "--smtp-ca-file",
                "/nonexistent/ca.pem",
            ],
        ]
        .concat(),
        None,
        "cannot read the SMTP CA file",
    );
    fails_with(
        db,
        &[
            &serve[..],
            &["smtp://127.0.0.1:25", "--smtp-ca-file", "Cargo.toml"],
        ]
        .concat(),
        None,
        "the SMTP CA file is not valid",
    );
    fails_with(
        db,
        &[&serve[..], &["http://127.0.0.1:25"]].concat(),
        None,
        "must start with smtp://",
    );
    // Only the member creation was recorded.
    assert_eq!(ok(db, &["audit", "verify"], None)["events"], 1);
}

async fn tamper(db: &TestDatabase, statements: &[&str]) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(&db.url).await.unwrap();
    for statement in statements {
        conn.execute(*statement).await.unwrap();
    }
    conn.close().await.unwrap();
}

fn broken_at(db: &TestDatabase, seq: i64) {
    let output = casebridge(db, &["audit", "verify"], None);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["firstBadEvent"], seq, "{report}");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("event {seq}")));
}

async fn audit_verify_detects_a_changed_event(db: &TestDatabase) {
    onboard(db);
    assert_eq!(ok(db, &["audit", "verify"], None)["events"], 5);
    tamper(
        db,
        &["UPDATE audit_events SET outcome = 'failure' WHERE seq = 3"],
    )
    .await;
    broken_at(db, 3);
}

async fn audit_verify_detects_a_removed_event(db: &TestDatabase) {
    onboard(db);
    tamper(db, &["DELETE FROM audit_events WHERE seq = 2"]).await;
    broken_at(db, 2);
}

async fn audit_verify_detects_reordered_events(db: &TestDatabase) {
    onboard(db);
    // Swap events 2 and 3 by exchanging their sequence numbers.
    tamper(
        db,
        &[
            "UPDATE audit_events SET seq = -3 WHERE seq = 3",
            "UPDATE audit_events SET seq = 3 WHERE seq = 2",
            "UPDATE audit_events SET seq = 2 WHERE seq = -3",
        ],
    )
    .await;
    broken_at(db, 2);
}

async fn audit_verify_detects_a_removed_newest_event(db: &TestDatabase) {
    onboard(db);
    tamper(db, &["DELETE FROM audit_events WHERE seq = 5"]).await;
    broken_at(db, 5);
}

/// The server's logs, at debug level, never hold an email address, a password or a token.
#[tokio::test]
async fn logs_hold_no_personal_data_or_secrets() {
    let db = TestDatabase::sqlite();
    onboard(&db);
    let mut server = Command::new(env!("CARGO_BIN_EXE_casebridge"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CASEBRIDGE_DATABASE_URL", &db.url)
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut logs = String::new();
    let address = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "server exited: {logs}"
        );
        logs.push_str(&line);
        if let Some(rest) = line.split("address=").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_matches('\u{1b}')
                .to_owned();
        }
    };
    let address: String = address
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    let login = http(
        &address,
        "POST",
        "/v1/login",
        None,
        r#"{"username":"ana@acme.example","password":"a long admin passphrase"}"#,
    );
    let token = login
        .split("\"accessToken\":\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    http(
        &address,
        "POST",
        "/v1/login",
        None,
        r#"{"username":"ana@acme.example","password":"a wrong passphrase"}"#,
    );
    let created = http(
        &address,
        "POST",
        "/v1/users",
        Some(&token),
        r#"{"email":"priya@acme.example","firstName":"Priya","lastName":"Raman","role":"engineer","password":"a long engineer passphrase"}"#,
    );
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    server.kill().unwrap();
    server.wait().unwrap();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(logs.contains("request"), "the requests were logged: {logs}");
    for secret in [
        "ana@acme.example",
        "priya@acme.example",
        "Raman",
        "passphrase",
        token.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "the logs contain {secret:?}:\n{logs}"
        );
    }
}

/// A config file supplies what neither a flag nor the environment gives.
#[tokio::test]
async fn a_config_file_supplies_the_database_url() {
    let db = TestDatabase::sqlite();
    let config = std::env::temp_dir().join(format!("casebridge-{}.toml", std::process::id()));
    std::fs::write(&config, format!("database_url = \"{}\"\n", db.url)).unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_casebridge"))
            .args([
                "member",
                "create",
                "--name",
                "Acme",
                "--domain",
                "acme.example",
            ])
            .args(extra)
            .env_remove("CASEBRIDGE_DATABASE_URL")
            .env("CASEBRIDGE_CONFIG", &config)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    // The same member again in the same database is refused: the file's database was used.
    let again = run(&[]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    // A flag wins over the file.
    let other = TestDatabase::sqlite();
    assert!(run(&["--database-url", &other.url]).status.success());
    std::fs::write(&config, "databse_url = \"x\"\n").unwrap();
    let typo = run(&[]);
    assert!(!typo.status.success());
    assert!(String::from_utf8_lossy(&typo.stderr).contains("is not valid"));
    std::fs::remove_file(config).ok();
}

#[tokio::test]
async fn master_keys_are_generated_rotated_and_required_on_postgres() {
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_casebridge"));
        command
            .args(args)
            .env_remove("CASEBRIDGE_CONFIG")
            .env_remove("CASEBRIDGE_MASTER_KEY_FILE");
        for (key, value) in envs {
            command.env(key, value);
        }
        command.output().unwrap()
    };
    let generated = run(&["keys", "generate"], &[]);
    assert!(generated.status.success());
    let key = String::from_utf8(generated.stdout).unwrap();
    assert_eq!(key.trim().len(), 64);
    assert!(key.trim().chars().all(|c| c.is_ascii_hexdigit()));

    let db = TestDatabase::sqlite();
    let dir = std::env::temp_dir().join(format!("casebridge-keys-{}", uuid_like()));
    let key_file = dir.join("master.key");
    let key_path = key_file.to_str().unwrap();
    let envs = [
        ("CASEBRIDGE_DATABASE_URL", db.url.as_str()),
        ("CASEBRIDGE_MASTER_KEY_FILE", key_path),
    ];
    let rotated = run(&["keys", "rotate"], &envs);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let printed: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_eq!(printed, serde_json::json!({"rewrapped": 0, "caseKeys": 0}));
    let stored = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(stored.trim().len(), 64, "a key was made on first use");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The same file is used, not replaced, on the next run.
    assert!(run(&["keys", "rotate"], &envs).status.success());
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), stored);

    let erased = run(&["erase", "--subject", "jane@customer.example"], &envs);
    assert!(
        erased.status.success(),
        "{}",
        String::from_utf8_lossy(&erased.stderr)
    );
    let printed: Value = serde_json::from_slice(&erased.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::json!({"erased": [], "heldByLegalHold": []})
    );
    let refused = run(&["erase", "--subject", "nobody"], &envs);
    assert!(!refused.status.success());

    std::fs::write(&key_file, "not a key\n").unwrap();
    let bad = run(&["keys", "rotate"], &envs);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not valid"));
    std::fs::remove_dir_all(&dir).ok();

    if let Some(pg) = TestDatabase::postgres().await {
        let migrated = run(
            &["migrate"],
            &[("CASEBRIDGE_DATABASE_URL", pg.url.as_str())],
        );
        assert!(migrated.status.success());
        let refused = run(
            &["keys", "rotate"],
            &[("CASEBRIDGE_DATABASE_URL", pg.url.as_str())],
        );
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("master key file"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
}
