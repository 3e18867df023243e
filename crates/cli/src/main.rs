//! `casebridge`: the server, its migrations, the demo, and the platform operator's commands.

mod config;
mod redact;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use casebridge_domain::{MemberId, Role};
use casebridge_jobs::{DispatchSettings, Dispatcher, MailSettings, Mailer};
use casebridge_service::operator::AuditVerification;
use casebridge_service::webhooks::WebhookPolicy;
use casebridge_service::{AuthSettings, CaseSettings, NewUserInput, ServiceError, Services};
use casebridge_store::crypto::Keyring;
use casebridge_store::{Backend, SqlStore};
use chrono::Duration;
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use serde_json::json;

use crate::config::{pick, FileConfig, DEFAULT_DATABASE_URL, DEFAULT_LISTEN};

/// Casebridge: vendors collaborate on a shared customer's support case, with agreements,
/// customer authorization and data minimisation enforced by the platform.
#[derive(Parser)]
#[command(name = "casebridge", version, propagate_version = true)]
struct Cli {
    /// Database: sqlite://PATH (created on first run) or postgres://USER@HOST/DB
    /// [default: sqlite://./casebridge-data/casebridge.db]
    #[arg(
        long,
        global = true,
        env = "CASEBRIDGE_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,

    /// A TOML file with defaults for these settings (database_url, listen, public_url,
    /// master_key_file, signing_key_file, token_ttl_minutes, client_token_ttl_minutes,
    /// session_ttl_minutes, session_idle_minutes, case_inactivity_days,
    /// webhook_allowed_hosts, webhook_lease_ms, webhook_timeout_ms, webhook_retry_base_ms,
    /// webhook_retry_max_ms, webhook_retry_window_minutes, smtp_url, smtp_ca_file, mail_from); flags and
    /// environment win over it.
    #[arg(long, global = true, env = "CASEBRIDGE_CONFIG", hide_env_values = true)]
    config: Option<PathBuf>,

    /// File of master keys that encrypt case content at rest (64 hex digits per line,
    /// the current one first; created if missing) [default: master.key beside a SQLite
    /// database; required with PostgreSQL]. Keep it out of database backups.
    #[arg(long, global = true, env = "CASEBRIDGE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and the API (applies migrations first on SQLite).
    Serve(ServeArgs),
    /// Apply the database migrations that have not run yet.
    Migrate,
    /// Seed a demo world into an empty database, print its sign-ins, and serve.
    Demo(ServeArgs),
    /// Onboard member companies.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Create users of a member.
    #[command(subcommand)]
    User(UserCommand),
    /// Publish the framework agreement.
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Erase a data subject: every case naming the person with this email, on every member.
    Erase {
        /// The person's email address.
        #[arg(long)]
        subject: String,
    },
    /// Manage the master keys that encrypt case content at rest.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Replace personal data and secrets in files, directories or standard input with
    /// stable pseudonyms, before they leave your machine. Needs no database.
    Redact(redact::RedactArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "CASEBRIDGE_LISTEN")]
    listen: Option<String>,
    /// The base URL people reach this server at, for the links it hands out (customer
    /// authorization pages); https:// makes the web UI's session cookies Secure
    /// [default: http:// + the listen address]
    #[arg(long, env = "CASEBRIDGE_PUBLIC_URL")]
    public_url: Option<String>,
    /// File holding the key consent receipts are signed with (64 hex digits; created if
    /// missing) [default: receipt-signing.key beside a SQLite database; required with
    /// PostgreSQL, the same file on every node]
    #[arg(long, env = "CASEBRIDGE_SIGNING_KEY_FILE")]
    signing_key: Option<PathBuf>,
    /// Hosts webhooks may reach over plain HTTP and at private, loopback or link-local
    /// addresses, comma separated (e.g. 127.0.0.1,localhost); every other callback must be
    /// public HTTPS [default: none]
    #[arg(long, env = "CASEBRIDGE_WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    webhook_allowed_hosts: Vec<String>,
    /// The mail server for notification emails: smtp://host:25 (a local relay, no TLS),
    /// smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465. Without it,
    /// emails wait in the outbox, undelivered, never dropped [default: none]
    #[arg(long, env = "CASEBRIDGE_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// PEM file with the certificate of a private CA that signed the mail server's
    /// certificate, trusted besides the public roots [default: none]
    #[arg(long, env = "CASEBRIDGE_SMTP_CA_FILE")]
    smtp_ca_file: Option<PathBuf>,
    /// The sender of notification emails [default: Casebridge <casebridge@localhost>]
    #[arg(long, env = "CASEBRIDGE_MAIL_FROM")]
    mail_from: Option<String>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new random master key (64 hex digits) to add at the top of the key file.
    Generate,
    /// Re-wrap every case's data key under the first key of the master key file, so older
    /// keys can be removed from it. Servers keep running: they unwrap with any listed key.
    Rotate,
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Create a member; prints {"id", "name"}.
    Create {
        /// The company's name, unique on the platform.
        #[arg(long)]
        name: String,
        /// An email domain the member owns; repeat for several.
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints {"id"}. The password is read from standard input.
    Create {
        /// The member's id, as printed by `member create`.
        #[arg(long)]
        member: MemberId,
        /// Must be on one of the member's domains.
        #[arg(long)]
        email: String,
        /// admin, manager, engineer or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The user's given name.
        #[arg(long)]
        first_name: String,
        /// The user's family name.
        #[arg(long)]
        last_name: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum AgreementCommand {
    /// Publish a new version, which becomes the current one; prints {"id", "version", "sha256"}.
    Publish {
        /// The agreement's title.
        #[arg(long)]
        title: String,
        /// A UTF-8 text file with the agreement's text.
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exits non-zero and names the first bad event if broken.
    Verify,
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse()
        .map_err(|e: casebridge_domain::role::UnknownRole| e.to_string())
}

struct Settings {
    database_url: String,
    listen: String,
    auth: AuthSettings,
    cases: CaseSettings,
    signing_key: Option<PathBuf>,
    master_key: Option<PathBuf>,
    webhook_allowed_hosts: Vec<String>,
    dispatch: DispatchSettings,
    mail: Option<MailSettings>,
}

fn settings(cli: &Cli, serve: Option<&ServeArgs>) -> anyhow::Result<Settings> {
    let listen = serve.and_then(|s| s.listen.clone());
    let file = FileConfig::load(cli.config.as_deref())?;
    let defaults = AuthSettings::default();
    let minutes = |value: Option<i64>, default: Duration| -> anyhow::Result<Duration> {
        match value {
            None => Ok(default),
            Some(m) if (1..=7 * 24 * 60).contains(&m) => Ok(Duration::minutes(m)),
            Some(_) => bail!("token lifetimes must be between 1 minute and 7 days"),
        }
    };
    let database_url = pick(
        cli.database_url.clone(),
        file.database_url,
        DEFAULT_DATABASE_URL,
    );
    let listen = pick(listen, file.listen, DEFAULT_LISTEN);
    let public_url = serve
        .and_then(|s| s.public_url.clone())
        .or(file.public_url)
        .unwrap_or_else(|| format!("http://{listen}"));
    let public_url = public_url.trim_end_matches('/').to_owned();
    if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
        bail!("the public URL must start with https:// or http://");
    }
    let signing_key = serve
        .and_then(|s| s.signing_key.clone())
        .or(file.signing_key_file)
        .or_else(|| config::beside_database(&database_url, "receipt-signing.key"));
    let master_key = cli
        .master_key_file
        .clone()
        .or(file.master_key_file)
        .or_else(|| config::beside_database(&database_url, "master.key"));
    let webhook_allowed_hosts = serve
        .map(|s| s.webhook_allowed_hosts.clone())
        .filter(|hosts| !hosts.is_empty())
        .or(file.webhook_allowed_hosts)
        .unwrap_or_default();
    let ms = |value: Option<u64>,
              default: std::time::Duration,
              range: std::ops::RangeInclusive<u64>,
              name: &str|
     -> anyhow::Result<std::time::Duration> {
        match value {
            None => Ok(default),
            Some(v) if range.contains(&v) => Ok(std::time::Duration::from_millis(v)),
            Some(_) => bail!(
                "{name} must be between {} and {}",
                range.start(),
                range.end()
            ),
        }
    };
    let dispatch_defaults = DispatchSettings::default();
    let dispatch = DispatchSettings {
        lease: ms(
            file.webhook_lease_ms,
            dispatch_defaults.lease,
            1_000..=3_600_000,
            "webhook_lease_ms",
        )?,
        base_backoff: ms(
            file.webhook_retry_base_ms,
            dispatch_defaults.base_backoff,
            10..=3_600_000,
            "webhook_retry_base_ms",
        )?,
        max_backoff: ms(
            file.webhook_retry_max_ms,
            dispatch_defaults.max_backoff,
            10..=86_400_000,
            "webhook_retry_max_ms",
        )?,
        retry_window: ms(
            file.webhook_retry_window_minutes
                .map(|m| m.saturating_mul(60_000)),
            dispatch_defaults.retry_window,
            60_000..=30 * 86_400_000,
            "webhook_retry_window_minutes",
        )?,
        request_timeout: ms(
            file.webhook_timeout_ms,
            dispatch_defaults.request_timeout,
            100..=120_000,
            "webhook_timeout_ms",
        )?,
        source: public_url.clone(),
        ..dispatch_defaults
    };
    // A lease shorter than an attempt would let the same node send a slow delivery twice.
    if dispatch.lease < dispatch.request_timeout + std::time::Duration::from_secs(1) {
        bail!("webhook_lease_ms must exceed webhook_timeout_ms by at least a second");
    }
    let ca_pem = match serve
        .and_then(|s| s.smtp_ca_file.clone())
        .or(file.smtp_ca_file.clone())
    {
        Some(path) => Some(
            std::fs::read(&path)
                .with_context(|| format!("cannot read the SMTP CA file {}", path.display()))?,
        ),
        None => None,
    };
    let mail = serve
        .and_then(|s| s.smtp_url.clone())
        .or(file.smtp_url)
        .map(|url| MailSettings {
            url,
            from: serve
                .and_then(|s| s.mail_from.clone())
                .or(file.mail_from.clone())
                .unwrap_or_else(|| "Casebridge <casebridge@localhost>".into()),
            timeout: dispatch.request_timeout,
            ca_pem,
        });
    // A mail setting that cannot work is an error now, not an email that never leaves.
    if let Some(mail) = &mail {
        Mailer::new(mail, &public_url).map_err(anyhow::Error::msg)?;
    }
    Ok(Settings {
        webhook_allowed_hosts,
        dispatch,
        mail,
        signing_key,
        master_key,
        database_url,
        listen,
        auth: AuthSettings {
            user_token_ttl: minutes(file.token_ttl_minutes, defaults.user_token_ttl)?,
            client_token_ttl: minutes(file.client_token_ttl_minutes, defaults.client_token_ttl)?,
            session_ttl: minutes(file.session_ttl_minutes, defaults.session_ttl)?,
            session_idle_timeout: minutes(
                file.session_idle_minutes,
                defaults.session_idle_timeout,
            )?,
        },
        cases: CaseSettings {
            inactivity: match file.case_inactivity_days {
                None => CaseSettings::default().inactivity,
                Some(days) if (1..=3650).contains(&days) => Duration::days(days),
                Some(_) => bail!("case_inactivity_days must be between 1 and 3650"),
            },
            public_url,
            link_ttl: CaseSettings::default().link_ttl,
        },
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = !matches!(cli.command, Command::Serve(_) | Command::Demo(_));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if quiet { "warn" } else { "info" })
            }),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Redact(args) = cli.command {
        tokio::task::spawn_blocking(move || redact::run(args)).await??;
        return Ok(ExitCode::SUCCESS);
    }
    let serve_args = match &cli.command {
        Command::Serve(args) | Command::Demo(args) => Some(args),
        _ => None,
    };
    let settings = settings(&cli, serve_args)?;
    if let Command::Keys(KeysCommand::Generate) = cli.command {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        println!("{}", hex::encode(key));
        return Ok(ExitCode::SUCCESS);
    }
    let store = SqlStore::connect(&settings.database_url)
        .await
        .context("cannot open the database")?;
    // Case content is sealed with the master keys; commands that read or write it need
    // the real ones. Others get a throwaway key they never use.
    let needs_keys = matches!(
        cli.command,
        Command::Serve(_) | Command::Demo(_) | Command::Keys(_) | Command::Erase { .. }
    );
    let store = if needs_keys {
        let path = settings.master_key.as_deref().context(
            "with PostgreSQL, name the master key file (--master-key-file or CASEBRIDGE_MASTER_KEY_FILE), the same on every node",
        )?;
        let text = config::read_or_create_key_file(path, "master key")?;
        let keyring = Keyring::parse(&text)
            .with_context(|| format!("the master key file {} is not valid", path.display()))?;
        store.with_keyring(keyring)
    } else {
        store
    };
    match cli.command {
        Command::Migrate => {
            store.migrate().await.context("migration failed")?;
            println!("{}", json!({"migrated": true}));
            return Ok(ExitCode::SUCCESS);
        }
        // An embedded SQLite database belongs to this one binary: keep it current.
        // PostgreSQL is shared by several nodes, so its operator migrates explicitly.
        _ if store.backend() == Backend::Sqlite => {
            store.migrate().await.context("migration failed")?;
        }
        _ => {}
    }
    if !store.is_migrated().await? {
        bail!("the database schema is not up to date; run `casebridge migrate` first");
    }
    if let Command::Keys(KeysCommand::Rotate) = cli.command {
        let (rewrapped, total) = store
            .rewrap_case_keys()
            .await
            .context("re-wrapping the case keys failed")?;
        return print_json(json!({"rewrapped": rewrapped, "caseKeys": total}));
    }
    let store: Arc<dyn casebridge_service::store::Store> = Arc::new(store);
    let mut services = Services::new(store.clone(), settings.auth)
        .with_case_settings(settings.cases.clone())
        .with_webhook_policy(WebhookPolicy::new(settings.webhook_allowed_hosts.clone()));
    if serve_args.is_some() {
        // Receipts signed today must verify tomorrow: the key outlives the process.
        let path = settings.signing_key.as_deref().context(
            "with PostgreSQL, name the receipt-signing key file (--signing-key or CASEBRIDGE_SIGNING_KEY_FILE), the same on every node",
        )?;
        services = services.with_signing_key(config::load_or_create_signing_key(path)?);
    }
    match cli.command {
        Command::Serve(_) => serve(services, store, &settings).await,
        Command::Demo(_) => demo(services, store, &settings).await,
        Command::Member(MemberCommand::Create { name, domains }) => {
            let member = outcome(services.operator_create_member(&name, &domains).await)?;
            print_json(json!({"id": member.id, "name": member.name}))
        }
        Command::User(UserCommand::Create {
            member,
            email,
            role,
            first_name,
            last_name,
            password_stdin: _,
        }) => {
            let password = read_password()?;
            let user = outcome(
                services
                    .operator_create_user(
                        member,
                        NewUserInput {
                            email,
                            first_name,
                            last_name,
                            role,
                            password,
                        },
                    )
                    .await,
            )?;
            print_json(json!({"id": user.id}))
        }
        Command::Agreement(AgreementCommand::Publish { title, file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {} as UTF-8 text", file.display()))?;
            let agreement = outcome(services.operator_publish_agreement(&title, &text).await)?;
            print_json(json!({
                "id": agreement.id, "version": agreement.version, "sha256": agreement.sha256
            }))
        }
        Command::Keys(_) => unreachable!("handled before the use cases start"),
        Command::Erase { subject } => {
            let erasure = outcome(services.erase_subject_everywhere(&subject).await)?;
            let tokens = |list: &[casebridge_domain::case::CaseToken]| {
                list.iter().map(ToString::to_string).collect::<Vec<_>>()
            };
            print_json(json!({
                "erased": tokens(&erasure.erased),
                "heldByLegalHold": tokens(&erasure.held),
            }))
        }
        Command::Audit(AuditCommand::Verify) => match outcome(services.verify_audit_trail().await)?
        {
            AuditVerification::Intact { events } => {
                print_json(json!({"intact": true, "events": events}))
            }
            AuditVerification::Broken(chain_break) => {
                println!(
                    "{}",
                    json!({
                        "intact": false,
                        "firstBadEvent": chain_break.seq(),
                        "reason": chain_break.to_string(),
                    })
                );
                eprintln!("error: the audit trail is broken: {chain_break}");
                Ok(ExitCode::from(2))
            }
        },
        Command::Migrate | Command::Redact(_) => unreachable!("handled above"),
    }
}

/// Turns a use case's refusal into a message an operator can act on.
fn outcome<T>(result: Result<T, ServiceError>) -> anyhow::Result<T> {
    result.map_err(|error| match error {
        ServiceError::Validation(errors) => {
            let lines: Vec<String> = errors
                .0
                .iter()
                .map(|e| format!("  {}: {}", e.field, e.message))
                .collect();
            anyhow::anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        ServiceError::NotFound => anyhow::anyhow!("no such member"),
        other => anyhow::anyhow!("{other}"),
    })
}

fn print_json(value: serde_json::Value) -> anyhow::Result<ExitCode> {
    println!("{value}");
    Ok(ExitCode::SUCCESS)
}

fn read_password() -> anyhow::Result<SecretString> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(SecretString::from(password.to_owned()))
}

async fn serve(
    services: Services,
    store: Arc<dyn casebridge_service::store::Store>,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    // The outbox dispatcher: every node runs one; leases keep them from sending twice.
    let mut dispatcher = Dispatcher::new(
        store,
        services.webhook_policy().clone(),
        settings.dispatch.clone(),
    );
    match &settings.mail {
        Some(mail) => {
            let mailer =
                Mailer::new(mail, &settings.cases.public_url).map_err(anyhow::Error::msg)?;
            dispatcher = dispatcher.with_mailer(mailer);
        }
        None => {
            tracing::warn!("no --smtp-url: notification emails wait in the outbox, undelivered")
        }
    }
    let dispatcher = Arc::new(dispatcher);
    let listen = &settings.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, "casebridge is serving");
    tokio::spawn(sweep_cases_forever(services.clone()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatching = tokio::spawn(dispatcher.run(stopped));
    let served = casebridge_server::serve(listener, casebridge_server::app(services)).await;
    let _ = stop.send(true);
    let _ = dispatching.await;
    served.context("the server stopped with an error")?;
    Ok(ExitCode::SUCCESS)
}

async fn demo(
    services: Services,
    store: Arc<dyn casebridge_service::store::Store>,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let logins_file = config::demo_logins_path(&settings.database_url);
    match outcome(services.seed_demo().await)? {
        Some(world) => {
            let mut text = String::from("Casebridge demo sign-ins (random passwords, made when the demo was seeded)\n\n");
            for login in &world.logins {
                text.push_str(&format!(
                    "{:<18} {:<9} {:<28} {}\n",
                    login.company,
                    login.role.as_str(),
                    login.email,
                    login.password
                ));
            }
            text.push_str(&format!(
                "\nA customer's authorization page (request NW-20431, valid 7 days, no sign-in):\n{}\n",
                world.customer_link
            ));
            if let Some(path) = &logins_file {
                write_private(path, &text)?;
            }
            println!("{text}");
        }
        None => match logins_file.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
            Some(text) => println!("The database already holds data. {text}"),
            None => println!(
                "The database already holds data; the demo sign-ins were printed when it was first seeded."
            ),
        },
    }
    println!(
        "Web UI:  {}/  (sign in with an address and password above)",
        settings.cases.public_url
    );
    println!(
        "API:     http://{}/v1  (sign in with POST /v1/login)",
        settings.listen
    );
    println!("OpenAPI: http://{}/openapi.json", settings.listen);
    println!("Stop with Ctrl-C.\n");
    std::io::stdout().flush().ok();
    serve(services, store, settings).await
}

/// Closes idle cases and flags overdue ones every minute. Every node may run this: each
/// case changes in one conditional update, so two nodes never close the same case twice.
async fn sweep_cases_forever(services: Services) {
    let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every_minute.tick().await;
        match services.sweep_cases().await {
            Ok((0, 0)) => {}
            Ok((closed, overdue)) => tracing::info!(closed, overdue, "case sweep"),
            Err(error) => tracing::warn!(%error, "case sweep failed; retrying next minute"),
        }
        match services.prune_outbox().await {
            Ok(0) => {}
            Ok(rows) => tracing::info!(rows, "outbox: old events and deliveries removed"),
            Err(error) => tracing::warn!(%error, "outbox pruning failed; retrying next minute"),
        }
        match services.purge_expired_cases().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "retention: case content erased"),
            Err(error) => tracing::warn!(%error, "retention purge failed; retrying next minute"),
        }
    }
}

/// Writes a file only the current user can read.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
