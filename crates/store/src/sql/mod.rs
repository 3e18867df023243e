//! [`Store`] on SQLite and PostgreSQL through sqlx's `Any` driver: one schema, one set of
//! portable queries (`$N` parameters, `RETURNING`), instants as epoch milliseconds.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use casebridge_domain::agreement::AgreementText;
use casebridge_domain::audit::{
    chain_hash, ActorKind, AuditAction, AuditEntry, ChainedEntry, GENESIS_HASH,
};
use casebridge_domain::form::FormDefinition;
use casebridge_domain::member::MemberDomain;
use casebridge_domain::partnership::{PartnershipStatus, PartnershipType, Side, Terms};
use casebridge_domain::{
    AgreementId, ApiClientId, AuditEventId, DepartmentId, MemberId, PartnershipId, Role, UserId,
};
use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Executor, Row, Transaction};

use crate::crypto::Keyring;
use crate::records::*;
use crate::{Actor, Store, StoreError, StoreResult, Tenant};

mod cases;
mod outbox;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// The master keys case data keys are wrapped with (see [`crate::crypto`]).
    keyring: Arc<Keyring>,
}

impl SqlStore {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`). A SQLite file and its folder
    /// are created when missing; SQLite runs in WAL mode with foreign keys enforced.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Configuration(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        })?;
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            prepare_sqlite_path(&url)?;
            if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            backend,
            keyring: Arc::new(Keyring::ephemeral()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for tests that look at what is stored.
    #[cfg(feature = "testing")]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Seals case content with these master keys instead of a throwaway one. Every
    /// process that serves a database must use the same keyring.
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = Arc::new(keyring);
        self
    }

    /// Re-wraps every case data key under the keyring's current master key; returns how
    /// many were re-wrapped and how many there are. Safe while servers run: each key is
    /// replaced by one conditional update, and servers unwrap with any configured key.
    pub async fn rewrap_case_keys(&self) -> StoreResult<(usize, usize)> {
        let current = self.keyring.current_id().to_owned();
        let mut counts = (0, 0);
        // Case keys, then the platform's own secrets, the same way.
        type Aad = fn(&str) -> String;
        let tables: [(&str, &str, Aad); 2] = [
            ("case_keys", "case_token", crate::crypto::case_key_aad),
            ("platform_keys", "name", crate::crypto::platform_key_aad),
        ];
        for (table, id_column, aad) in tables {
            let rows = sqlx::query(&format!(
                "SELECT {id_column} AS id, wrapped_key, key_id FROM {table} \
                 WHERE wrapped_key IS NOT NULL"
            ))
            .fetch_all(&self.pool)
            .await?;
            let mut rewrapped = 0;
            for row in &rows {
                let key_id = row.text("key_id")?;
                if key_id == current {
                    continue;
                }
                let id = row.text("id")?;
                let wrapped = row.text("wrapped_key")?;
                let new = self.keyring.rewrap(&aad(&id), &wrapped, &key_id)?;
                let changed = sqlx::query(&format!(
                    "UPDATE {table} SET wrapped_key = $2, key_id = $3 \
                     WHERE {id_column} = $1 AND key_id = $4 AND wrapped_key = $5"
                ))
                .bind(&id)
                .bind(&new)
                .bind(&current)
                .bind(&key_id)
                .bind(&wrapped)
                .execute(&self.pool)
                .await?;
                rewrapped += changed.rows_affected() as usize;
            }
            if table == "case_keys" {
                counts = (rewrapped, rows.len());
            }
        }
        Ok(counts)
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.pool).await
    }

    /// Whether every embedded migration has been applied.
    pub async fn is_migrated(&self) -> StoreResult<bool> {
        let applied: i64 = match sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
        {
            Ok(row) => row.try_get("n")?,
            Err(_) => 0,
        };
        Ok(applied >= MIGRATOR.iter().count() as i64)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction. SQLite's begins IMMEDIATE so that a transaction which reads
    /// before it writes cannot fail on upgrading its lock; PostgreSQL serialises on rows.
    async fn write(&self) -> StoreResult<Transaction<'static, Any>> {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        Ok(self.pool.begin_with(begin).await?)
    }
}

fn prepare_sqlite_path(url: &str) -> StoreResult<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            StoreError::Database(sqlx::Error::Configuration(
                format!(
                    "cannot create the database folder {}: {e}",
                    parent.display()
                )
                .into(),
            ))
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Conversions between stored columns and domain values.

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn now_millis() -> DateTime<Utc> {
    instant(Utc::now().timestamp_millis())
}

fn instant(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

trait RowExt {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;

    fn parsed<T: FromStr>(&self, column: &str) -> StoreResult<T> {
        let raw = self.text(column)?;
        raw.parse()
            .map_err(|_| StoreError::Corrupt(format!("{column} holds an unreadable value")))
    }

    fn opt_parsed<T: FromStr>(&self, column: &str) -> StoreResult<Option<T>> {
        self.opt_text(column)?
            .map(|raw| {
                raw.parse()
                    .map_err(|_| StoreError::Corrupt(format!("{column} holds an unreadable value")))
            })
            .transpose()
    }

    fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        serde_json::from_str(&self.text(column)?)
            .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        self.int(column).map(instant)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.opt_int(column)?.map(instant))
    }
}

impl RowExt for AnyRow {
    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }
    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Turns a uniqueness violation into a conflict naming what exists; other errors pass.
fn unique(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(error),
    }
}

fn role(row: &AnyRow) -> StoreResult<Role> {
    row.parsed("role")
}

fn member_row(row: &AnyRow, domains: Vec<String>) -> StoreResult<Member> {
    Ok(Member {
        id: row.parsed("id")?,
        name: row.text("name")?,
        domains,
        created_at: row.time("created_at")?,
    })
}

fn user_row(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: row.parsed("id")?,
        member_id: row.parsed("member_id")?,
        email: row.text("email")?,
        first_name: row.text("first_name")?,
        last_name: row.text("last_name")?,
        role: role(row)?,
        disabled_at: row.opt_time("disabled_at")?,
        created_at: row.time("created_at")?,
    })
}

fn api_client_row(row: &AnyRow) -> StoreResult<ApiClient> {
    Ok(ApiClient {
        id: row.parsed("id")?,
        member_id: row.parsed("member_id")?,
        name: row.text("name")?,
        role: role(row)?,
        client_id: row.text("client_id")?,
        created_at: row.time("created_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}

fn department_row(row: &AnyRow) -> StoreResult<Department> {
    Ok(Department {
        id: row.parsed("id")?,
        member_id: row.parsed("member_id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        tags: row.json("tags")?,
        notification_emails: row.json("notification_emails")?,
        created_at: row.time("created_at")?,
    })
}

fn agreement_row(row: &AnyRow) -> StoreResult<Agreement> {
    Ok(Agreement {
        id: row.parsed("id")?,
        version: row.int("version")?,
        title: row.text("title")?,
        text: row.text("body")?,
        sha256: row.text("sha256")?,
        published_at: row.time("published_at")?,
    })
}

fn acceptance_row(row: &AnyRow) -> StoreResult<Acceptance> {
    Ok(Acceptance {
        agreement_id: row.parsed("agreement_id")?,
        member_id: row.parsed("member_id")?,
        accepted_by: row.parsed("accepted_by")?,
        accepted_at: row.time("accepted_at")?,
        text_sha256: row.text("text_sha256")?,
    })
}

fn partnership_row(row: &AnyRow) -> StoreResult<PartnershipRecord> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("partnership {what}"));
    Ok(PartnershipRecord {
        id: row.parsed("id")?,
        proposer: Side {
            member: row.parsed("proposer_member_id")?,
            department: row.opt_parsed("proposer_department_id")?,
        },
        partner: Side {
            member: row.parsed("partner_member_id")?,
            department: row.opt_parsed("partner_department_id")?,
        },
        kind: PartnershipType::parse(&row.text("kind")?).ok_or_else(|| corrupt("kind"))?,
        status: PartnershipStatus::parse(&row.text("status")?).ok_or_else(|| corrupt("status"))?,
        terms: Terms {
            data_categories: row.json("data_categories")?,
            retention_days: row.int("retention_days")?,
            onward_sharing_allowed: row.int("onward_sharing_allowed")? != 0,
            expires_at: row.opt_time("expires_at")?,
        },
        proposed_at: row.time("proposed_at")?,
        answered_at: row.opt_time("answered_at")?,
        ended_at: row.opt_time("ended_at")?,
    })
}

fn form_row(row: &AnyRow) -> StoreResult<ProcessForm> {
    Ok(ProcessForm {
        document_id: row.parsed("document_id")?,
        member_id: row.parsed("member_id")?,
        department_id: row.opt_parsed("department_id")?,
        version: row.int("version")?,
        definition: row.json::<FormDefinition>("definition")?,
        published_at: row.time("published_at")?,
    })
}

fn audit_row(row: &AnyRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        seq: row.int("seq")?,
        id: row.text("id")?,
        occurred_at: row.time("occurred_at")?,
        member_id: row.opt_text("member_id")?,
        actor_type: row.text("actor_type")?,
        actor_id: row.opt_text("actor_id")?,
        action: row.text("action")?,
        object_type: row.text("object_type")?,
        object_id: row.opt_text("object_id")?,
        outcome: row.text("outcome")?,
    })
}

// ---------------------------------------------------------------------------------------
// The audit trail, appended inside the caller's transaction.

struct AuditRecord {
    member: Option<MemberId>,
    actor: (ActorKind, Option<String>),
    action: AuditAction,
    object_type: &'static str,
    object_id: Option<String>,
    outcome: &'static str,
}

impl AuditRecord {
    fn by(
        tenant: &Tenant,
        action: AuditAction,
        object_type: &'static str,
        id: impl ToString,
    ) -> Self {
        Self {
            member: Some(tenant.member()),
            actor: tenant.audit_actor(),
            action,
            object_type,
            object_id: Some(id.to_string()),
            outcome: "success",
        }
    }
}

/// Appends one event to the chain. Updating the single head row first takes its lock, so
/// concurrent appenders queue up and every event links to the one committed before it.
async fn append_audit(conn: &mut AnyConnection, record: AuditRecord) -> StoreResult<()> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await?;
    let prev_hash = head.text("hash")?;
    let entry = AuditEntry {
        seq: head.int("seq")?,
        id: AuditEventId::new().to_string(),
        occurred_at: now_millis(),
        member_id: record.member.map(|m| m.to_string()),
        actor_type: record.actor.0.as_str().to_owned(),
        actor_id: record.actor.1,
        action: record.action.as_str().to_owned(),
        object_type: record.object_type.to_owned(),
        object_id: record.object_id,
        outcome: record.outcome.to_owned(),
    };
    let hash = chain_hash(&prev_hash, &entry);
    sqlx::query(
        "INSERT INTO audit_events (seq, id, occurred_at, member_id, actor_type, actor_id, \
         action, object_type, object_id, outcome, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(entry.seq)
    .bind(&entry.id)
    .bind(millis(entry.occurred_at))
    .bind(&entry.member_id)
    .bind(&entry.actor_type)
    .bind(&entry.actor_id)
    .bind(&entry.action)
    .bind(&entry.object_type)
    .bind(&entry.object_id)
    .bind(&entry.outcome)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Queries shared by several methods.

const USER_COLUMNS: &str =
    "id, member_id, email, first_name, last_name, role, disabled_at, created_at";
const API_CLIENT_COLUMNS: &str = "id, member_id, name, role, client_id, created_at, revoked_at";
const PARTNERSHIP_COLUMNS: &str = "id, proposer_member_id, proposer_department_id, \
    partner_member_id, partner_department_id, kind, status, data_categories, retention_days, \
    onward_sharing_allowed, expires_at, proposed_at, answered_at, ended_at";

async fn member_domains(conn: &mut AnyConnection, member: &str) -> StoreResult<Vec<String>> {
    let rows =
        sqlx::query("SELECT domain FROM member_domains WHERE member_id = $1 ORDER BY domain")
            .bind(member)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|row| row.text("domain")).collect()
}

async fn fetch_user(conn: &mut AnyConnection, tenant: &Tenant, id: UserId) -> StoreResult<User> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND member_id = $2"
    ))
    .bind(id.to_string())
    .bind(tenant.member().to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    user_row(&row)
}

async fn fetch_partnership(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    id: PartnershipId,
) -> StoreResult<PartnershipRecord> {
    let row = sqlx::query(&format!(
        "SELECT {PARTNERSHIP_COLUMNS} FROM partnerships \
         WHERE id = $1 AND (proposer_member_id = $2 OR partner_member_id = $2)"
    ))
    .bind(id.to_string())
    .bind(tenant.member().to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    partnership_row(&row)
}

fn actor_id(tenant: &Tenant) -> String {
    tenant
        .audit_actor()
        .1
        .unwrap_or_else(|| ActorKind::Operator.as_str().to_owned())
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM members")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.int("n")? == 0)
    }

    async fn create_member(&self, name: &str, domains: &[MemberDomain]) -> StoreResult<Member> {
        let mut tx = self.write().await?;
        let id = MemberId::new();
        let now = now_millis();
        sqlx::query("INSERT INTO members (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id.to_string())
            .bind(name)
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .map_err(unique("a member with this name already exists"))?;
        for domain in domains {
            sqlx::query("INSERT INTO member_domains (domain, member_id) VALUES ($1, $2)")
                .bind(domain.as_str())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(unique("one of these domains already belongs to a member"))?;
        }
        append_audit(
            &mut tx,
            AuditRecord {
                member: Some(id),
                actor: (ActorKind::Operator, None),
                action: AuditAction::MemberCreated,
                object_type: "member",
                object_id: Some(id.to_string()),
                outcome: "success",
            },
        )
        .await?;
        tx.commit().await?;
        let mut domains: Vec<String> = domains.iter().map(|d| d.as_str().to_owned()).collect();
        domains.sort();
        Ok(Member {
            id,
            name: name.to_owned(),
            domains,
            created_at: now,
        })
    }

    async fn publish_agreement(&self, text: &AgreementText) -> StoreResult<Agreement> {
        let mut tx = self.write().await?;
        let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM agreements")
            .fetch_one(&mut *tx)
            .await?
            .int("v")?;
        let agreement = Agreement {
            id: AgreementId::new(),
            version,
            title: text.title.clone(),
            text: text.text.clone(),
            sha256: text.sha256.clone(),
            published_at: now_millis(),
        };
        sqlx::query(
            "INSERT INTO agreements (id, version, title, body, sha256, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(agreement.id.to_string())
        .bind(version)
        .bind(&agreement.title)
        .bind(&agreement.text)
        .bind(&agreement.sha256)
        .bind(millis(agreement.published_at))
        .execute(&mut *tx)
        .await
        .map_err(unique("another version was published at the same time"))?;
        append_audit(
            &mut tx,
            AuditRecord {
                member: None,
                actor: (ActorKind::Operator, None),
                action: AuditAction::AgreementPublished,
                object_type: "agreement",
                object_id: Some(agreement.id.to_string()),
                outcome: "success",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(agreement)
    }

    async fn audit_chain(&self) -> StoreResult<(Vec<ChainedEntry>, (i64, String))> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query("SELECT * FROM audit_events ORDER BY seq")
            .fetch_all(&mut *conn)
            .await?;
        let events = rows
            .iter()
            .map(|row| {
                Ok(ChainedEntry {
                    entry: audit_row(row)?,
                    prev_hash: row.text("prev_hash")?,
                    hash: row.text("hash")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
        let head = match head {
            Some(row) => (row.int("seq")?, row.text("hash")?),
            None => (0, GENESIS_HASH.to_owned()),
        };
        Ok((events, head))
    }

    async fn find_login(&self, login_key: &str) -> StoreResult<Option<LoginRecord>> {
        let row = sqlx::query(
            "SELECT id, member_id, password_hash, disabled_at FROM users WHERE login_key = $1",
        )
        .bind(login_key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(LoginRecord {
                user_id: row.parsed("id")?,
                member_id: row.parsed("member_id")?,
                password_hash: row.text("password_hash")?,
                disabled: row.opt_int("disabled_at")?.is_some(),
            })
        })
        .transpose()
    }

    async fn find_api_client_credentials(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<ApiClientCredentials>> {
        let row = sqlx::query(
            "SELECT id, member_id, secret_hash, revoked_at FROM api_clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ApiClientCredentials {
                id: row.parsed("id")?,
                member_id: row.parsed("member_id")?,
                secret_hash: row.text("secret_hash")?,
                revoked: row.opt_int("revoked_at")?.is_some(),
            })
        })
        .transpose()
    }

    async fn issue_token(&self, tenant: &Tenant, token: &NewToken) -> StoreResult<()> {
        let (user, client) = match tenant.actor() {
            Actor::User(id) => (Some(id.to_string()), None),
            Actor::ApiClient(id) => (None, Some(id.to_string())),
            Actor::Operator => return Err(StoreError::Conflict("the operator holds no tokens")),
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, member_id, user_id, api_client_id, \
             created_at, expires_at, idle_timeout_ms, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&token.token_hash)
        .bind(tenant.member().to_string())
        .bind(user)
        .bind(client)
        .bind(millis(token.issued_at))
        .bind(millis(token.expires_at))
        .bind(token.idle_timeout.map(|d| d.num_milliseconds()))
        .bind(token.idle_timeout.map(|_| millis(token.issued_at)))
        .execute(&mut *tx)
        .await?;
        let object = tenant.audit_actor().1.unwrap_or_default();
        append_audit(
            &mut tx,
            AuditRecord::by(tenant, token.action, "session", object),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_login_failure(&self, member: MemberId, user: UserId) -> StoreResult<()> {
        let mut tx = self.write().await?;
        append_audit(
            &mut tx,
            AuditRecord {
                member: Some(member),
                actor: (ActorKind::User, Some(user.to_string())),
                action: AuditAction::LoginFailed,
                object_type: "session",
                object_id: Some(user.to_string()),
                outcome: "failure",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Principal>> {
        let row = sqlx::query(
            "SELECT t.member_id, t.user_id, t.api_client_id, t.last_used_at, \
                    COALESCE(u.role, c.role) AS role \
             FROM access_tokens t \
             LEFT JOIN users u ON u.id = t.user_id AND u.disabled_at IS NULL \
             LEFT JOIN api_clients c ON c.id = t.api_client_id AND c.revoked_at IS NULL \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 \
               AND (t.idle_timeout_ms IS NULL OR t.last_used_at + t.idle_timeout_ms > $2) \
               AND (u.id IS NOT NULL OR c.id IS NOT NULL)",
        )
        .bind(token_hash)
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let actor = match row.opt_parsed::<UserId>("user_id")? {
            Some(user) => Actor::User(user),
            None => Actor::ApiClient(row.parsed("api_client_id")?),
        };
        Ok(Some(Principal {
            member_id: row.parsed("member_id")?,
            actor,
            role: role(&row)?,
            last_used_at: row.opt_time("last_used_at")?,
        }))
    }

    async fn touch_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE access_tokens SET last_used_at = $1 \
             WHERE token_hash = $2 AND idle_timeout_ms IS NOT NULL AND last_used_at < $1",
        )
        .bind(millis(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn revoke_token(&self, tenant: &Tenant, token_hash: &str) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let revoked = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 \
             WHERE token_hash = $2 AND member_id = $3 AND revoked_at IS NULL",
        )
        .bind(millis(Utc::now()))
        .bind(token_hash)
        .bind(tenant.member().to_string())
        .execute(&mut *tx)
        .await?;
        if revoked.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let object = tenant.audit_actor().1.unwrap_or_default();
        append_audit(
            &mut tx,
            AuditRecord::by(tenant, AuditAction::Logout, "session", object),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn member(&self, id: MemberId) -> StoreResult<Option<Member>> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("SELECT id, name, created_at FROM members WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => {
                let domains = member_domains(&mut conn, &id.to_string()).await?;
                Ok(Some(member_row(&row, domains)?))
            }
            None => Ok(None),
        }
    }

    async fn department(&self, id: DepartmentId) -> StoreResult<Option<Department>> {
        sqlx::query("SELECT * FROM departments WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| department_row(&row))
            .transpose()
    }

    async fn list_users(&self, tenant: &Tenant) -> StoreResult<Vec<User>> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE member_id = $1 ORDER BY last_name, first_name, id"
        ))
        .bind(tenant.member().to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(user_row)
        .collect()
    }

    async fn get_user(&self, tenant: &Tenant, id: UserId) -> StoreResult<User> {
        let mut conn = self.pool.acquire().await?;
        fetch_user(&mut conn, tenant, id).await
    }

    async fn create_user(&self, tenant: &Tenant, user: &NewUser) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let record = User {
            id: UserId::new(),
            member_id: tenant.member(),
            email: user.email.to_string(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            role: user.role,
            disabled_at: None,
            created_at: now_millis(),
        };
        sqlx::query(
            "INSERT INTO users (id, member_id, email, login_key, first_name, last_name, role, \
             password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(record.id.to_string())
        .bind(record.member_id.to_string())
        .bind(&record.email)
        .bind(user.email.login_key())
        .bind(&record.first_name)
        .bind(&record.last_name)
        .bind(record.role.as_str())
        .bind(&user.password_hash)
        .bind(millis(record.created_at))
        .execute(&mut *tx)
        .await
        .map_err(unique("a user with this email already exists"))?;
        append_audit(
            &mut tx,
            AuditRecord::by(tenant, AuditAction::UserCreated, "user", record.id),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn disable_user(&self, tenant: &Tenant, id: UserId) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let now = millis(Utc::now());
        let user = fetch_user(&mut tx, tenant, id).await?;
        if user.disabled_at.is_some() {
            return Ok(user);
        }
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND member_id = $3")
            .bind(now)
            .bind(id.to_string())
            .bind(tenant.member().to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            AuditRecord::by(tenant, AuditAction::UserDisabled, "user", id),
        )
        .await?;
        let user = fetch_user(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn set_user_role(&self, tenant: &Tenant, id: UserId, role: Role) -> StoreResult<User> {
        let mut tx = self.write().await?;
        let user = fetch_user(&mut tx, tenant, id).await?;
        if user.role == role {
            return Ok(user);
        }
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2 AND member_id = $3")
            .bind(role.as_str())
            .bind(id.to_string())
            .bind(tenant.member().to_string())
            .execute(&mut *tx)
            .await?;
        append_audit(
            &mut tx,
            AuditRecord::by(tenant, AuditAction::UserRoleChanged, "user", id),
        )
        .await?;
        let user = fetch_user(&mut tx, tenant, id).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn list_api_clients(&self, tenant: &Tenant) -> StoreResult<Vec<ApiClient>> {
        sqlx::query(&format!(
            "SELECT {API_CLIENT_COLUMNS} FROM api_clients WHERE member_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant.member().to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(api_client_row)
        .collect()
    }

    async fn create_api_client(
        &self,
        tenant: &Tenant,
        client: &NewApiClient,
    ) -> StoreResult<ApiClient> {
        let mut tx = self.write().await?;
        let record = ApiClient {
            id: ApiClientId::new(),
            member_id: tenant.member(),
            name: client.name.clone(),
            role: client.role,
            client_id: client.client_id.clone(),
            created_at: now_millis(),
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_clients (id, member_id, name, role, client_id, secret_hash, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(record.id.to_string())
        .bind(record.member_id.to_string())
        .bind(&record.name)
        .bind(record.role.as_str())
        .bind(&record.client_id)
        .bind(&client.secret_hash)
        .bind(actor_id(tenant))
        .bind(millis(record.created_at))
        .execute(&mut *tx)
        .await
        .map_err(unique("an API client with this id already exists"))?;
        append_audit(
            &mut tx,
            AuditRecord::by(
                tenant,
                AuditAction::ApiClientCreated,
                "api_client",
                record.id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn revoke_api_client(&self, tenant: &Tenant, id: ApiClientId) -> StoreResult<ApiClient> {
        let mut tx = self.write().await?;
        let now = millis(Utc::now());
        let changed = sqlx::query(
            "UPDATE api_clients SET revoked_at = $1 \
             WHERE id = $2 AND member_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id.to_string())
        .bind(tenant.member().to_string())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 1 {
            sqlx::query(
                "UPDATE access_tokens SET revoked_at = $1 \
                 WHERE api_client_id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
            append_audit(
                &mut tx,
                AuditRecord::by(tenant, AuditAction::ApiClientRevoked, "api_client", id),
            )
            .await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {API_CLIENT_COLUMNS} FROM api_clients WHERE id = $1 AND member_id = $2"
        ))
        .bind(id.to_string())
        .bind(tenant.member().to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        api_client_row(&row)
    }

    async fn list_departments(&self, tenant: &Tenant) -> StoreResult<Vec<Department>> {
        sqlx::query("SELECT * FROM departments WHERE member_id = $1 ORDER BY name, id")
            .bind(tenant.member().to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(department_row)
            .collect()
    }

    async fn create_department(
        &self,
        tenant: &Tenant,
        department: &DepartmentFields,
    ) -> StoreResult<Department> {
        let mut tx = self.write().await?;
        let record = Department {
            id: DepartmentId::new(),
            member_id: tenant.member(),
            name: department.name.clone(),
            description: department.description.clone(),
            tags: department.tags.clone(),
            notification_emails: department.notification_emails.clone(),
            created_at: now_millis(),
        };
        sqlx::query(
            "INSERT INTO departments (id, member_id, name, description, tags, \
             notification_emails, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.id.to_string())
        .bind(record.member_id.to_string())
        .bind(&record.name)
        .bind(&record.description)
        .bind(to_json(&record.tags)?)
        .bind(to_json(&record.notification_emails)?)
        .bind(millis(record.created_at))
        .execute(&mut *tx)
        .await
        .map_err(unique("a department with this name already exists"))?;
        append_audit(
            &mut tx,
            AuditRecord::by(
                tenant,
                AuditAction::DepartmentCreated,
                "department",
                record.id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn update_department(
        &self,
        tenant: &Tenant,
        id: DepartmentId,
        department: &DepartmentFields,
    ) -> StoreResult<Department> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "UPDATE departments SET name = $1, description = $2, tags = $3, \
             notification_emails = $4 WHERE id = $5 AND member_id = $6 RETURNING *",
        )
        .bind(&department.name)
        .bind(&department.description)
        .bind(to_json(&department.tags)?)
        .bind(to_json(&department.notification_emails)?)
        .bind(id.to_string())
        .bind(tenant.member().to_string())
        .fetch_optional(&mut *tx)
        .await
        .map_err(unique("a department with this name already exists"))?
        .ok_or(StoreError::NotFound)?;
        append_audit(
            &mut tx,
            AuditRecord::by(tenant, AuditAction::DepartmentUpdated, "department", id),
        )
        .await?;
        tx.commit().await?;
        department_row(&row)
    }

    async fn current_agreement(&self) -> StoreResult<Option<Agreement>> {
        sqlx::query("SELECT * FROM agreements ORDER BY version DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|row| agreement_row(&row))
            .transpose()
    }

    async fn agreement(&self, id: AgreementId) -> StoreResult<Option<Agreement>> {
        sqlx::query("SELECT * FROM agreements WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| agreement_row(&row))
            .transpose()
    }

    async fn acceptance(
        &self,
        member: MemberId,
        agreement: AgreementId,
    ) -> StoreResult<Option<Acceptance>> {
        sqlx::query(
            "SELECT * FROM agreement_acceptances WHERE agreement_id = $1 AND member_id = $2",
        )
        .bind(agreement.to_string())
        .bind(member.to_string())
        .fetch_optional(&self.pool)
        .await?
        .map(|row| acceptance_row(&row))
        .transpose()
    }

    async fn accept_agreement(
        &self,
        tenant: &Tenant,
        agreement: &Agreement,
    ) -> StoreResult<Acceptance> {
        let user = tenant.user().ok_or(StoreError::Conflict(
            "only a person can accept an agreement",
        ))?;
        let acceptance = Acceptance {
            agreement_id: agreement.id,
            member_id: tenant.member(),
            accepted_by: user,
            accepted_at: now_millis(),
            text_sha256: agreement.sha256.clone(),
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO agreement_acceptances (agreement_id, member_id, accepted_by, \
             accepted_at, text_sha256) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(acceptance.agreement_id.to_string())
        .bind(acceptance.member_id.to_string())
        .bind(user.to_string())
        .bind(millis(acceptance.accepted_at))
        .bind(&acceptance.text_sha256)
        .execute(&mut *tx)
        .await
        .map_err(unique("this member has already accepted this agreement"))?;
        append_audit(
            &mut tx,
            AuditRecord::by(
                tenant,
                AuditAction::AgreementAccepted,
                "agreement",
                agreement.id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(acceptance)
    }

    async fn list_partnerships(&self, tenant: &Tenant) -> StoreResult<Vec<PartnershipRecord>> {
        sqlx::query(&format!(
            "SELECT {PARTNERSHIP_COLUMNS} FROM partnerships \
             WHERE proposer_member_id = $1 OR partner_member_id = $1 \
             ORDER BY proposed_at DESC, id"
        ))
        .bind(tenant.member().to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(partnership_row)
        .collect()
    }

    async fn get_partnership(
        &self,
        tenant: &Tenant,
        id: PartnershipId,
    ) -> StoreResult<PartnershipRecord> {
        let mut conn = self.pool.acquire().await?;
        fetch_partnership(&mut conn, tenant, id).await
    }

    async fn create_partnership(
        &self,
        tenant: &Tenant,
        proposal: &NewPartnership,
        terms: &Terms,
        now: DateTime<Utc>,
    ) -> StoreResult<PartnershipRecord> {
        let mut tx = self.write().await?;
        let (me, partner) = (
            tenant.member().to_string(),
            proposal.partner_member.to_string(),
        );
        let open = sqlx::query(
            "SELECT COUNT(*) AS n FROM partnerships WHERE status IN ('PROPOSED', 'ACTIVE') \
             AND (expires_at IS NULL OR expires_at > $1) \
             AND ((proposer_member_id = $2 AND partner_member_id = $3) \
               OR (proposer_member_id = $3 AND partner_member_id = $2))",
        )
        .bind(millis(now))
        .bind(&me)
        .bind(&partner)
        .fetch_one(&mut *tx)
        .await?
        .int("n")?;
        if open > 0 {
            return Err(StoreError::Conflict(
                "a proposed or active partnership with this member already exists",
            ));
        }
        let record = PartnershipRecord {
            id: PartnershipId::new(),
            proposer: Side {
                member: tenant.member(),
                department: proposal.proposer_department,
            },
            partner: Side {
                member: proposal.partner_member,
                department: proposal.partner_department,
            },
            kind: proposal.kind,
            status: PartnershipStatus::Proposed,
            terms: terms.clone(),
            proposed_at: now_millis(),
            answered_at: None,
            ended_at: None,
        };
        sqlx::query(
            "INSERT INTO partnerships (id, proposer_member_id, proposer_department_id, \
             partner_member_id, partner_department_id, kind, status, data_categories, \
             retention_days, onward_sharing_allowed, expires_at, proposed_by, proposed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(record.id.to_string())
        .bind(&me)
        .bind(proposal.proposer_department.map(|d| d.to_string()))
        .bind(&partner)
        .bind(proposal.partner_department.map(|d| d.to_string()))
        .bind(record.kind.as_str())
        .bind(record.status.as_str())
        .bind(to_json(&terms.data_categories)?)
        .bind(terms.retention_days)
        .bind(i64::from(terms.onward_sharing_allowed))
        .bind(terms.expires_at.map(millis))
        .bind(actor_id(tenant))
        .bind(millis(record.proposed_at))
        .execute(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            AuditRecord::by(
                tenant,
                AuditAction::PartnershipProposed,
                "partnership",
                record.id,
            ),
        )
        .await?;
        partnership_event(&mut tx, "partnership.proposed", &record).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn transition_partnership(
        &self,
        tenant: &Tenant,
        id: PartnershipId,
        from: PartnershipStatus,
        to: PartnershipStatus,
    ) -> StoreResult<PartnershipRecord> {
        let (column_by, column_at, action) = match to {
            PartnershipStatus::Active => (
                "answered_by",
                "answered_at",
                AuditAction::PartnershipAccepted,
            ),
            PartnershipStatus::Declined => (
                "answered_by",
                "answered_at",
                AuditAction::PartnershipDeclined,
            ),
            PartnershipStatus::Ended => ("ended_by", "ended_at", AuditAction::PartnershipEnded),
            PartnershipStatus::Proposed | PartnershipStatus::Expired => {
                return Err(StoreError::Conflict(
                    "a partnership cannot be moved to this status",
                ))
            }
        };
        let mut tx = self.write().await?;
        let changed = sqlx::query(&format!(
            "UPDATE partnerships SET status = $1, {column_by} = $2, {column_at} = $3 \
             WHERE id = $4 AND status = $5 AND (proposer_member_id = $6 OR partner_member_id = $6)"
        ))
        .bind(to.as_str())
        .bind(actor_id(tenant))
        .bind(millis(Utc::now()))
        .bind(id.to_string())
        .bind(from.as_str())
        .bind(tenant.member().to_string())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        append_audit(&mut tx, AuditRecord::by(tenant, action, "partnership", id)).await?;
        let record = fetch_partnership(&mut tx, tenant, id).await?;
        let event = match to {
            PartnershipStatus::Active => Some("partnership.accepted"),
            PartnershipStatus::Declined => Some("partnership.declined"),
            PartnershipStatus::Ended => Some("partnership.ended"),
            _ => None,
        };
        if let Some(event) = event {
            partnership_event(&mut tx, event, &record).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    async fn publish_form(
        &self,
        tenant: &Tenant,
        department: Option<DepartmentId>,
        definition: &FormDefinition,
    ) -> StoreResult<ProcessForm> {
        let scope = department.map_or_else(|| "company".to_owned(), |d| d.to_string());
        let mut tx = self.write().await?;
        let version = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM process_forms \
             WHERE member_id = $1 AND scope = $2",
        )
        .bind(tenant.member().to_string())
        .bind(&scope)
        .fetch_one(&mut *tx)
        .await?
        .int("v")?;
        let form = ProcessForm {
            document_id: casebridge_domain::DocumentId::new(),
            member_id: tenant.member(),
            department_id: department,
            version,
            definition: definition.clone(),
            published_at: now_millis(),
        };
        sqlx::query(
            "INSERT INTO process_forms (document_id, member_id, department_id, scope, version, \
             definition, published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(form.document_id.to_string())
        .bind(form.member_id.to_string())
        .bind(department.map(|d| d.to_string()))
        .bind(&scope)
        .bind(version)
        .bind(to_json(definition)?)
        .bind(actor_id(tenant))
        .bind(millis(form.published_at))
        .execute(&mut *tx)
        .await
        .map_err(unique(
            "another version of this form was published at the same time",
        ))?;
        append_audit(
            &mut tx,
            AuditRecord::by(
                tenant,
                AuditAction::FormPublished,
                "process_form",
                form.document_id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(form)
    }

    async fn current_form(
        &self,
        tenant: &Tenant,
        owner: MemberId,
        department: Option<DepartmentId>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<ProcessForm>> {
        let scope = department.map_or_else(|| "company".to_owned(), |d| d.to_string());
        sqlx::query(
            "SELECT * FROM process_forms f \
             WHERE f.member_id = $1 AND f.scope = $2 \
               AND ($1 = $3 OR EXISTS (SELECT 1 FROM partnerships p \
                    WHERE p.status = 'ACTIVE' AND (p.expires_at IS NULL OR p.expires_at > $4) \
                      AND ((p.proposer_member_id = $1 AND p.partner_member_id = $3) \
                        OR (p.proposer_member_id = $3 AND p.partner_member_id = $1)))) \
             ORDER BY f.version DESC LIMIT 1",
        )
        .bind(owner.to_string())
        .bind(scope)
        .bind(tenant.member().to_string())
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?
        .map(|row| form_row(&row))
        .transpose()
    }

    async fn form_versions(
        &self,
        tenant: &Tenant,
        department: Option<DepartmentId>,
    ) -> StoreResult<Vec<ProcessForm>> {
        let scope = department.map_or_else(|| "company".to_owned(), |d| d.to_string());
        sqlx::query(
            "SELECT * FROM process_forms WHERE member_id = $1 AND scope = $2 \
             ORDER BY version DESC LIMIT 100",
        )
        .bind(tenant.member().to_string())
        .bind(scope)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(form_row)
        .collect()
    }

    async fn list_audit_events(
        &self,
        tenant: &Tenant,
        filter: &AuditFilter,
    ) -> StoreResult<Page<AuditEvent>> {
        const WHERE: &str = "WHERE member_id = $1 \
            AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR actor_id = $3) \
            AND ($4 IS NULL OR object_id = $4) AND ($5 IS NULL OR occurred_at >= $5) \
            AND ($6 IS NULL OR occurred_at < $6)";
        let mut conn = self.pool.acquire().await?;
        macro_rules! filtered {
            ($sql:expr) => {
                sqlx::query($sql)
                    .bind(tenant.member().to_string())
                    .bind(filter.action.clone())
                    .bind(filter.actor_id.clone())
                    .bind(filter.object_id.clone())
                    .bind(filter.since.map(millis))
                    .bind(filter.until.map(millis))
            };
        }
        let total = filtered!(&format!("SELECT COUNT(*) AS n FROM audit_events {WHERE}"))
            .fetch_one(&mut *conn)
            .await?
            .int("n")?;
        let rows = filtered!(&format!(
            "SELECT * FROM audit_events {WHERE} ORDER BY seq DESC LIMIT $7 OFFSET $8"
        ))
        .bind(filter.size)
        .bind(filter.page * filter.size)
        .fetch_all(&mut *conn)
        .await?;
        let items = rows
            .iter()
            .map(|row| {
                let entry = audit_row(row)?;
                Ok(AuditEvent {
                    seq: entry.seq,
                    id: entry.id,
                    occurred_at: entry.occurred_at,
                    actor_type: entry.actor_type,
                    actor_id: entry.actor_id,
                    action: entry.action,
                    object_type: entry.object_type,
                    object_id: entry.object_id,
                    outcome: entry.outcome,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(Page {
            items,
            total,
            page: filter.page,
            size: filter.size,
        })
    }
}

/// A partnership event for both its members, each told who the other is.
async fn partnership_event(
    conn: &mut AnyConnection,
    event_type: &str,
    record: &PartnershipRecord,
) -> StoreResult<()> {
    let data = |partner: MemberId| {
        serde_json::json!({
            "partnershipId": record.id.to_string(),
            "status": record.status.as_str(),
            "type": record.kind.as_str(),
            "partnerCompanyId": partner.to_string(),
            "dataCategories": record.terms.data_categories.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        })
    };
    let recipients = [
        (record.proposer.member, data(record.partner.member)),
        (record.partner.member, data(record.proposer.member)),
    ];
    outbox::emit(
        conn,
        event_type,
        &record.id.to_string(),
        &recipients,
        Utc::now(),
    )
    .await
}
