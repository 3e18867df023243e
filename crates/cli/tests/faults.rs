//! Fault tests of webhook delivery against the real binary: the server killed with SIGKILL
//! while deliveries are in flight and started again, and two servers sharing one
//! PostgreSQL database. Each prints its figures (events sent, delivered, duplicated,
//! lost); run with `--nocapture` to see them.

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use casebridge_store::testing::TestDatabase;
use serde_json::{json, Value};
use support::{http, json_body};

/// One request the receiver got: its path (which member) and the CloudEvent's id,
/// subject (case) and type.
#[derive(Clone, Debug)]
struct Receipt {
    path: String,
    id: String,
    subject: String,
}

#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<Receipt>>>,
    delay: Duration,
}

async fn receive(
    State(receiver): State<Receiver>,
    uri: axum::http::Uri,
    body: Bytes,
) -> StatusCode {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Recorded on arrival: a server killed before it reads the answer sends it again.
    receiver.got.lock().unwrap().push(Receipt {
        path: uri.path().to_owned(),
        id: event["id"].as_str().unwrap_or_default().to_owned(),
        subject: event["subject"].as_str().unwrap_or_default().to_owned(),
    });
    tokio::time::sleep(receiver.delay).await;
    StatusCode::NO_CONTENT
}

async fn start_receiver(delay: Duration) -> (Receiver, String) {
    let receiver = Receiver {
        got: Arc::default(),
        delay,
    };
    let app = axum::Router::new()
        .route("/{*path}", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, base)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What every server of one test shares: the database, its keys and quick retry timings.
struct Setup {
    db: TestDatabase,
    dir: std::path::PathBuf,
}

impl Setup {
    fn new(db: TestDatabase) -> Self {
        let dir = std::env::temp_dir().join(format!("casebridge-faults-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("master.key"), format!("{}\n", "7".repeat(64))).unwrap();
        std::fs::write(
            dir.join("casebridge.toml"),
            "webhook_lease_ms = 2500\nwebhook_timeout_ms = 1000\nwebhook_retry_base_ms = 100\nwebhook_retry_max_ms = 400\n",
        )
        .unwrap();
        let setup = Self { db, dir };
        if setup.db.url.starts_with("postgres") {
            let migrated = setup.command(&["migrate"]).output().unwrap();
            assert!(migrated.status.success(), "{migrated:?}");
        }
        setup
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_casebridge"));
        command
            .args(args)
            .env("CASEBRIDGE_DATABASE_URL", &self.db.url)
            .env("CASEBRIDGE_CONFIG", self.dir.join("casebridge.toml"))
            .env("CASEBRIDGE_MASTER_KEY_FILE", self.dir.join("master.key"))
            .env("CASEBRIDGE_SIGNING_KEY_FILE", self.dir.join("signing.key"))
            .env("CASEBRIDGE_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1");
        command
    }

    /// Starts `demo` (the first time: it seeds and prints the sign-ins) or `serve`, and
    /// waits until it answers. Returns the process, its address and the sign-ins.
    fn start(&self, command: &str) -> (Child, String, HashMap<String, String>) {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let mut child = self
            .command(&[command, "--listen", &address])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut logins = HashMap::new();
        if command == "demo" {
            let mut out = BufReader::new(child.stdout.take().unwrap());
            loop {
                let mut line = String::new();
                assert!(out.read_line(&mut line).unwrap() > 0, "demo exited");
                let fields: Vec<&str> = line.split_whitespace().collect();
                if let [.., role, email, password] = fields.as_slice() {
                    if email.contains('@')
                        && ["admin", "manager", "engineer", "auditor"].contains(role)
                    {
                        logins.insert((*email).to_owned(), (*password).to_owned());
                    }
                }
                if line.contains("Stop with Ctrl-C") {
                    break;
                }
            }
            // Keep draining stdout so the server never blocks on it.
            std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        }
        let start = Instant::now();
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        (child, address, logins)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A name no other test run uses.
fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

fn login(address: &str, logins: &HashMap<String, String>, email: &str) -> String {
    let body = json!({"username": email, "password": logins[email]}).to_string();
    let response = json_body(&http(address, "POST", "/v1/login", None, &body));
    response["accessToken"].as_str().unwrap().to_owned()
}

/// Subscribes each admin's company to note events; posts `notes` shared notes spread over
/// the demo's two live Northwind–Contoso cases. Returns the events the receiver must get.
fn make_events(address: &str, logins: &HashMap<String, String>, base: &str, notes: usize) -> usize {
    for (admin, path) in [
        ("ana@northwind.example", "northwind"),
        ("tomas@contoso.example", "contoso"),
    ] {
        let token = login(address, logins, admin);
        let body =
            json!({"callbackUrl": format!("{base}/{path}"), "eventTypes": ["case.note_added"]});
        let created = json_body(&http(
            address,
            "POST",
            "/v1/webhooks",
            Some(&token),
            &body.to_string(),
        ));
        assert!(created["secret"].is_string(), "{created}");
    }
    let priya = login(address, logins, "priya@northwind.example");
    let cases = json_body(&http(
        address,
        "GET",
        "/v2/collaboration-requests?size=50",
        Some(&priya),
        "",
    ));
    let live: Vec<String> = cases["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["direction"] == "OUTBOUND")
        .filter(|c| ["OPEN", "ACCEPTED"].contains(&c["status"].as_str().unwrap_or_default()))
        .map(|c| c["token"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        live.len() >= 2,
        "the demo has two live cases to Contoso: {cases}"
    );
    for n in 0..notes {
        let token = &live[n % 2];
        let body = json!({"summary": format!("Progress update {n}"), "visibility": "SHARED"});
        let added = http(
            address,
            "POST",
            &format!("/v1/collaboration-requests/{token}/notes"),
            Some(&priya),
            &body.to_string(),
        );
        assert!(added.starts_with("HTTP/1.1 201"), "{added}");
    }
    // Each shared note is one event for each of the two companies.
    notes * 2
}

struct Figures {
    sent: usize,
    delivered: usize,
    duplicated: usize,
    lost: usize,
}

/// Waits until every expected event arrived (or 60 s passed), then counts; checks the
/// order in which each company first saw each case's events.
async fn tally(receiver: &Receiver, expected: usize) -> Figures {
    let start = Instant::now();
    loop {
        let unique: HashSet<(String, String)> = receiver
            .got
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.path.clone(), r.id.clone()))
            .collect();
        if unique.len() >= expected || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let any late duplicate land before counting.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got = receiver.got.lock().unwrap().clone();
    let mut seen = HashSet::new();
    let mut first_seen: HashMap<(String, String), Vec<String>> = HashMap::new();
    for r in &got {
        if seen.insert((r.path.clone(), r.id.clone())) {
            first_seen
                .entry((r.path.clone(), r.subject.clone()))
                .or_default()
                .push(r.id.clone());
        }
    }
    // Event ids are UUIDv7, in the order the notes were written: per company and case,
    // the first arrivals must be in that order.
    for (key, ids) in &first_seen {
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, &sorted, "events of {key:?} arrived out of order");
    }
    Figures {
        sent: expected,
        delivered: seen.len(),
        duplicated: got.len() - seen.len(),
        lost: expected.saturating_sub(seen.len()),
    }
}

/// SIGKILL while deliveries are in flight, then a restart: nothing is lost; what was in
/// flight may arrive twice, with the same event id.
async fn a_killed_server_loses_no_event(db: TestDatabase) {
    let setup = Setup::new(db);
    let (receiver, base) = start_receiver(Duration::from_millis(150)).await;
    let (mut first, address, logins) = setup.start("demo");
    let expected = make_events(&address, &logins, &base, 30);
    // Kill it mid-stream.
    let start = Instant::now();
    while receiver.got.lock().unwrap().len() < 8 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no delivery started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap(); // SIGKILL: no shutdown, no lease given back
    first.wait().unwrap();
    let at_kill = receiver.got.lock().unwrap().len();
    let (mut second, _, _) = setup.start("serve");
    let figures = tally(&receiver, expected).await;
    second.kill().unwrap();
    second.wait().unwrap();
    println!(
        "SIGKILL fault ({}): {} events sent, {} delivered, {} duplicated, {} lost ({} had arrived when the server was killed)",
        if setup.db.url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        figures.sent, figures.delivered, figures.duplicated, figures.lost, at_kill
    );
    assert_eq!(figures.lost, 0);
    assert_eq!(figures.delivered, expected);
    assert!(
        figures.duplicated <= 4,
        "at most the deliveries in flight repeat"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_server_loses_no_event_sqlite() {
    a_killed_server_loses_no_event(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_server_loses_no_event_postgres() {
    let Some(db) = TestDatabase::postgres().await else {
        eprintln!("CASEBRIDGE_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    a_killed_server_loses_no_event(db).await;
}

/// Two servers on one PostgreSQL database share the work and deliver each event once.
#[tokio::test(flavor = "multi_thread")]
async fn two_servers_deliver_each_event_once() {
    let Some(db) = TestDatabase::postgres().await else {
        eprintln!("CASEBRIDGE_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let setup = Setup::new(db);
    let (receiver, base) = start_receiver(Duration::from_millis(20)).await;
    let (mut first, address, logins) = setup.start("demo");
    let (mut second, _, _) = setup.start("serve");
    let expected = make_events(&address, &logins, &base, 40);
    let figures = tally(&receiver, expected).await;
    first.kill().unwrap();
    second.kill().unwrap();
    first.wait().unwrap();
    second.wait().unwrap();
    println!(
        "two servers on PostgreSQL: {} events sent, {} delivered, {} duplicated, {} lost",
        figures.sent, figures.delivered, figures.duplicated, figures.lost
    );
    assert_eq!(figures.lost, 0);
    assert_eq!(figures.duplicated, 0, "no crash, so no event is sent twice");
}
