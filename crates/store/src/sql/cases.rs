//! [`CaseStore`] on SQLite and PostgreSQL.

use async_trait::async_trait;
use casebridge_domain::audit::{ActorKind, AuditAction};
use casebridge_domain::authorization::{AuthorizationMethod, CustomerAuthorization, LinkState};
use casebridge_domain::case::{CaseSide, CaseStatus, CaseToken, Contact, ResponseType, Visibility};
use casebridge_domain::form::Priority;
use casebridge_domain::sharing::Fate;
use casebridge_domain::{DepartmentId, DocumentId, MemberId, PartnershipId};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::outbox::emit_case;
use super::{append_audit, form_row, millis, to_json, unique, AuditRecord, RowExt};
use crate::crypto::{DataKey, Keyring};
use crate::records::*;
use crate::{CaseStore, SqlStore, StoreError, StoreResult, Tenant};
use serde_json::json;

const CASE_COLUMNS: &str = "token, submitter_member_id, submitter_actor_id, receiver_member_id, \
    receiver_department_id, partnership_id, document_id, status, pending_side, priority, \
    priority_note, respond_by, responded, overdue, test_case, internal_case_number, \
    receiver_case_number, problem_summary, problem_description, custom_fields, \
    submitter_contact, receiver_engineer, created_at, updated_at, closed_at, awaiting_customer";

/// A case the tenant's member is a party to. The receiver does not see a case while it
/// waits for the customer's authorization (or after the customer declined).
const PARTY: &str =
    "(submitter_member_id = $2 OR (receiver_member_id = $2 AND awaiting_customer = 0))";

/// A case's content cipher: its data key, or none for a case stored before encryption at
/// rest, whose content stays as it was written.
struct Cipher {
    token: String,
    key: Option<DataKey>,
    /// Set once the data key was destroyed: everything sealed reads as [`ERASED`].
    erased_at: Option<i64>,
}

impl Cipher {
    /// Seals `text` for `member`'s value at `place` (`case/summary`, `note/{id}/summary`…).
    fn seal(&self, member: &str, place: &str, text: &str) -> String {
        match &self.key {
            Some(key) => key.seal(&format!("{}/{member}/{place}", self.token), text),
            // Nothing new is kept for an erased case (purging closes it first).
            None if self.erased_at.is_some() => ERASED.to_owned(),
            None => text.to_owned(),
        }
    }

    fn open(&self, member: &str, place: &str, stored: &str) -> StoreResult<String> {
        match &self.key {
            Some(key) => key.open(&format!("{}/{member}/{place}", self.token), stored),
            None if self.erased_at.is_some() => Ok(ERASED.to_owned()),
            None => Ok(stored.to_owned()),
        }
    }
}

/// The cipher of the case `token`, its data key unwrapped with the master keys.
async fn cipher(keyring: &Keyring, conn: &mut AnyConnection, token: &str) -> StoreResult<Cipher> {
    let row = sqlx::query(
        "SELECT wrapped_key, key_id, destroyed_at FROM case_keys WHERE case_token = $1",
    )
    .bind(token)
    .fetch_optional(&mut *conn)
    .await?;
    let (key, erased_at) = match row {
        Some(row) => match row.opt_text("wrapped_key")? {
            Some(wrapped) => (
                Some(keyring.unwrap_key(token, &wrapped, &row.text("key_id")?)?),
                None,
            ),
            None => (
                None,
                Some(
                    row.opt_int("destroyed_at")?
                        .ok_or_else(|| corrupt("key without a destruction time"))?,
                ),
            ),
        },
        None => (None, None),
    };
    Ok(Cipher {
        token: token.to_owned(),
        key,
        erased_at,
    })
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("case {what}"))
}

async fn case_row(
    keyring: &Keyring,
    conn: &mut AnyConnection,
    row: &AnyRow,
) -> StoreResult<CaseRecord> {
    let token = row.text("token")?;
    let cipher = cipher(keyring, conn, &token).await?;
    let submitter = row.text("submitter_member_id")?;
    let priority = parse_priority(&row.text("priority")?)?;
    let receiver_engineer = match row.opt_text("receiver_engineer")? {
        Some(json) => Some(serde_json::from_str(&json).map_err(|_| corrupt("engineer"))?),
        None => None,
    };
    Ok(CaseRecord {
        token: CaseToken::parse(&token).map_err(|_| corrupt("token"))?,
        submitter: row.parsed("submitter_member_id")?,
        submitter_actor: row.text("submitter_actor_id")?,
        receiver: row.parsed("receiver_member_id")?,
        receiver_department: row.opt_parsed("receiver_department_id")?,
        partnership_id: row.parsed("partnership_id")?,
        document_id: row.parsed("document_id")?,
        status: match CaseStatus::parse(&row.text("status")?).ok_or_else(|| corrupt("status"))? {
            CaseStatus::Open if row.int("awaiting_customer")? != 0 => {
                CaseStatus::PendingAuthorization
            }
            status => status,
        },
        pending_side: row
            .opt_text("pending_side")?
            .as_deref()
            .and_then(CaseSide::parse),
        priority,
        priority_note: row.text("priority_note")?,
        respond_by: row.time("respond_by")?,
        responded: row.int("responded")? != 0,
        overdue: row.int("overdue")? != 0,
        test_case: row.int("test_case")? != 0,
        internal_case_number: row.text("internal_case_number")?,
        receiver_case_number: row.opt_text("receiver_case_number")?,
        problem_summary: cipher.open(&submitter, "case/summary", &row.text("problem_summary")?)?,
        problem_description: cipher.open(
            &submitter,
            "case/description",
            &row.text("problem_description")?,
        )?,
        custom_fields: if cipher.erased_at.is_some() {
            Vec::new()
        } else {
            serde_json::from_str(&cipher.open(
                &submitter,
                "case/custom_fields",
                &row.text("custom_fields")?,
            )?)
            .map_err(|_| corrupt("custom fields"))?
        },
        content_erased_at: cipher.erased_at.map(super::instant),
        submitter_contact: row.json("submitter_contact")?,
        receiver_engineer,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        closed_at: row.opt_time("closed_at")?,
    })
}

fn parse_priority(raw: &str) -> StoreResult<Priority> {
    match raw {
        "LOW" => Ok(Priority::Low),
        "MEDIUM" => Ok(Priority::Medium),
        "HIGH" => Ok(Priority::High),
        _ => Err(corrupt("priority")),
    }
}

fn priority_str(priority: Priority) -> &'static str {
    match priority {
        Priority::Low => "LOW",
        Priority::Medium => "MEDIUM",
        Priority::High => "HIGH",
    }
}

async fn fetch_case(
    keyring: &Keyring,
    conn: &mut AnyConnection,
    tenant: &Tenant,
    token: &CaseToken,
) -> StoreResult<CaseRecord> {
    let row = sqlx::query(&format!(
        "SELECT {CASE_COLUMNS} FROM collaboration_requests WHERE token = $1 AND {PARTY}"
    ))
    .bind(token.as_str())
    .bind(tenant.member().to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    case_row(keyring, conn, &row).await
}

fn case_audit(tenant: &Tenant, action: AuditAction, token: &CaseToken) -> AuditRecord {
    AuditRecord::by(tenant, action, "collaboration_request", token)
}

fn system_audit(member: MemberId, action: AuditAction, token: &str) -> AuditRecord {
    AuditRecord {
        member: Some(member),
        actor: (ActorKind::System, None),
        action,
        object_type: "collaboration_request",
        object_id: Some(token.to_owned()),
        outcome: "success",
    }
}

#[async_trait]
impl CaseStore for SqlStore {
    async fn create_case(&self, tenant: &Tenant, case: &NewCase) -> StoreResult<CaseRecord> {
        let mut tx = self.write().await?;
        let at = millis(case.created_at);
        let (key, wrapped_key, key_id) = self.keyring.new_data_key(case.token.as_str());
        let cipher = Cipher {
            token: case.token.to_string(),
            key: Some(key),
            erased_at: None,
        };
        let submitter = tenant.member().to_string();
        sqlx::query(&format!(
            "INSERT INTO collaboration_requests ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        ))
        .bind(case.token.as_str())
        .bind(tenant.member().to_string())
        .bind(super::actor_id(tenant))
        .bind(case.receiver.to_string())
        .bind(case.receiver_department.map(|d| d.to_string()))
        .bind(case.partnership_id.to_string())
        .bind(case.document_id.to_string())
        .bind(CaseStatus::Open.as_str())
        // Waiting for the customer, nobody has to act on the case yet.
        .bind(case.link.is_none().then_some(CaseSide::Receiver.as_str()))
        .bind(priority_str(case.priority))
        .bind(&case.priority_note)
        .bind(millis(case.respond_by))
        .bind(0_i64)
        .bind(0_i64)
        .bind(i64::from(case.test_case))
        .bind(&case.internal_case_number)
        .bind(&case.receiver_case_number)
        .bind(cipher.seal(&submitter, "case/summary", &case.problem_summary))
        .bind(cipher.seal(&submitter, "case/description", &case.problem_description))
        .bind(cipher.seal(
            &submitter,
            "case/custom_fields",
            &to_json(&case.custom_fields)?,
        ))
        .bind(to_json(&case.submitter_contact)?)
        .bind(None::<String>)
        .bind(at)
        .bind(at)
        .bind(None::<i64>)
        .bind(i64::from(case.link.is_some()))
        .execute(&mut *tx)
        .await
        .map_err(unique("a case with this token already exists"))?;
        sqlx::query(
            "INSERT INTO case_keys (case_token, wrapped_key, key_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(case.token.as_str())
        .bind(&wrapped_key)
        .bind(&key_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if let Some(link) = &case.link {
            sqlx::query(
                "INSERT INTO authorization_links (case_token, link_hash, state, expires_at, \
                 created_at) VALUES ($1, $2, 'PENDING', $3, $4)",
            )
            .bind(case.token.as_str())
            .bind(&link.hash)
            .bind(millis(link.expires_at))
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        let a = &case.authorization;
        sqlx::query(
            "INSERT INTO customer_authorizations (id, case_token, method, authorized_by_name, \
             authorized_by_email, authorized_at, purpose, data_categories, expires_at, evidence, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(case.token.as_str())
        .bind(a.method.as_str())
        .bind(cipher.seal(&submitter, "authorization/name", &a.authorized_by_name))
        .bind(cipher.seal(
            &submitter,
            "authorization/email",
            a.authorized_by_email.as_str(),
        ))
        .bind(millis(a.authorized_at))
        .bind(&a.purpose)
        .bind(to_json(&a.data_categories)?)
        .bind(a.expires_at.map(millis))
        .bind(&a.evidence)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        insert_vault(&mut tx, &cipher, tenant.member(), &case.vault, at).await?;
        let index = subject_key(&self.keyring, &mut tx, at).await?;
        for subject in &case.subjects {
            sqlx::query(
                "INSERT INTO subject_index (case_token, blind) VALUES ($1, $2) \
                 ON CONFLICT (case_token, blind) DO NOTHING",
            )
            .bind(case.token.as_str())
            .bind(blind(&index, subject))
            .execute(&mut *tx)
            .await?;
        }
        append_audit(
            &mut tx,
            case_audit(tenant, AuditAction::CaseCreated, &case.token),
        )
        .await?;
        if case.link.is_none() {
            start_clock(&mut tx, case.token.as_str(), at).await?;
        }
        if let Some(email) = case.link.as_ref().and_then(|l| l.email.as_ref()) {
            super::outbox::queue_link_email(
                &self.keyring,
                &mut tx,
                case.token.as_str(),
                tenant.member(),
                email,
                case.created_at,
            )
            .await?;
        }
        // A case waiting for its customer reaches only its submitter for now.
        emit_case(
            &mut tx,
            case.token.as_str(),
            "case.created",
            Audience::Both,
            json!({}),
            case.created_at,
        )
        .await?;
        let record = fetch_case(&self.keyring, &mut tx, tenant, &case.token).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn get_case(&self, tenant: &Tenant, token: &CaseToken) -> StoreResult<CaseRecord> {
        let mut conn = self.pool.acquire().await?;
        fetch_case(&self.keyring, &mut conn, tenant, token).await
    }

    async fn list_cases(
        &self,
        tenant: &Tenant,
        filter: &CaseFilter,
    ) -> StoreResult<Page<CaseRecord>> {
        let direction = match filter.direction {
            Direction::Inbound => "(receiver_member_id = $1 AND awaiting_customer = 0)",
            Direction::Outbound => "submitter_member_id = $1",
            Direction::All => {
                "(submitter_member_id = $1 OR (receiver_member_id = $1 AND awaiting_customer = 0))"
            }
        };
        let (status, status_value) = match filter.status {
            StatusFilter::Is(CaseStatus::PendingAuthorization) => (
                "status = 'OPEN' AND awaiting_customer = 1 AND ($2 IS NULL OR $2 = '')",
                None,
            ),
            StatusFilter::Is(CaseStatus::Open) => {
                ("status = $2 AND awaiting_customer = 0", Some("OPEN"))
            }
            StatusFilter::Is(status) => ("status = $2", Some(status.as_str())),
            StatusFilter::PendingAction => (
                "((submitter_member_id = $1 AND pending_side = 'SUBMITTER') \
                  OR (receiver_member_id = $1 AND pending_side = 'RECEIVER')) AND ($2 IS NULL OR $2 = '')",
                None,
            ),
            StatusFilter::All => ("($2 IS NULL OR $2 = '')", None),
        };
        let conditions = format!(
            "WHERE {direction} AND {status} AND ($3 IS NULL OR internal_case_number = $3 \
             OR receiver_case_number = $3) AND ($4 IS NULL OR updated_at > $4)"
        );
        let mut conn = self.pool.acquire().await?;
        macro_rules! filtered {
            ($sql:expr) => {
                sqlx::query($sql)
                    .bind(tenant.member().to_string())
                    .bind(status_value)
                    .bind(filter.internal_case_number.clone())
                    .bind(filter.updated_after.map(millis))
            };
        }
        let total = filtered!(&format!(
            "SELECT COUNT(*) AS n FROM collaboration_requests {conditions}"
        ))
        .fetch_one(&mut *conn)
        .await?
        .int("n")?;
        let rows = filtered!(&format!(
            "SELECT {CASE_COLUMNS} FROM collaboration_requests {conditions} \
             ORDER BY created_at DESC, token LIMIT $5 OFFSET $6"
        ))
        .bind(filter.size)
        .bind(filter.page * filter.size)
        .fetch_all(&mut *conn)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(case_row(&self.keyring, &mut conn, row).await?);
        }
        Ok(Page {
            items,
            total,
            page: filter.page,
            size: filter.size,
        })
    }

    async fn case_authorization(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<CustomerAuthorization> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(&format!(
            "SELECT a.*, l.state AS link_state, c.submitter_member_id \
             FROM customer_authorizations a \
             JOIN collaboration_requests c ON c.token = a.case_token \
             LEFT JOIN authorization_links l ON l.case_token = a.case_token \
             WHERE a.case_token = $1 AND {}",
            PARTY
                .replace("submitter", "c.submitter")
                .replace("receiver", "c.receiver")
        ))
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        let cipher = cipher(&self.keyring, &mut conn, token.as_str()).await?;
        authorization_row(&cipher, &row)
    }

    async fn customer_link(&self, link_hash: &str) -> StoreResult<CustomerLinkRecord> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT a.*, l.state AS link_state, l.expires_at AS link_expires_at, l.decided_at, \
             l.receipt, c.token, c.submitter_member_id, c.internal_case_number, \
             c.submitter_contact, c.respond_by AS case_respond_by, \
             c.created_at AS case_created_at, \
             s.name AS submitter_name, r.name AS receiver_name \
             FROM authorization_links l \
             JOIN collaboration_requests c ON c.token = l.case_token \
             JOIN customer_authorizations a ON a.case_token = l.case_token \
             JOIN members s ON s.id = c.submitter_member_id \
             JOIN members r ON r.id = c.receiver_member_id \
             WHERE l.link_hash = $1",
        )
        .bind(link_hash)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        let cipher = cipher(&self.keyring, &mut conn, &row.text("token")?).await?;
        Ok(CustomerLinkRecord {
            token: CaseToken::parse(&row.text("token")?).map_err(|_| corrupt("token"))?,
            submitter: row.parsed("submitter_member_id")?,
            submitter_name: row.text("submitter_name")?,
            receiver_name: row.text("receiver_name")?,
            internal_case_number: row.text("internal_case_number")?,
            submitter_contact: row.json("submitter_contact")?,
            respond_by: row.time("case_respond_by")?,
            created_at: row.time("case_created_at")?,
            authorization: authorization_row(&cipher, &row)?,
            expires_at: row.time("link_expires_at")?,
            decided_at: row.opt_time("decided_at")?,
            receipt: row
                .opt_text("receipt")?
                .map(|r| cipher.open("customer", "link/receipt", &r))
                .transpose()?,
        })
    }

    async fn decide_link(&self, link_hash: &str, decision: &LinkDecision) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let at = millis(decision.at);
        let state = if decision.authorize {
            "AUTHORIZED"
        } else {
            "DECLINED"
        };
        let token = sqlx::query("SELECT case_token FROM authorization_links WHERE link_hash = $1")
            .bind(link_hash)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .text("case_token")?;
        let cipher = cipher(&self.keyring, &mut tx, &token).await?;
        let sealed = |place: &str, value: &Option<String>| {
            value.as_ref().map(|v| cipher.seal("customer", place, v))
        };
        let decided = sqlx::query(
            "UPDATE authorization_links SET state = $2, decided_at = $3, approver_ip = $4, \
             shown_text = $5, shown_text_hash = $6, receipt = $7 \
             WHERE link_hash = $1 AND state = 'PENDING' AND expires_at > $3",
        )
        .bind(link_hash)
        .bind(state)
        .bind(at)
        .bind(sealed("link/approver_ip", &decision.approver_ip))
        .bind(cipher.seal("customer", "link/shown_text", &decision.shown_text))
        .bind(&decision.shown_text_hash)
        .bind(sealed("link/receipt", &decision.receipt))
        .execute(&mut *tx)
        .await?;
        if decided.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        // Only a case no one has revoked may start.
        let revoked =
            sqlx::query("SELECT revoked_at FROM customer_authorizations WHERE case_token = $1")
                .bind(&token)
                .fetch_one(&mut *tx)
                .await?
                .opt_int("revoked_at")?;
        if revoked.is_some() {
            return Err(StoreError::Stale);
        }
        let submitter: MemberId = if decision.authorize {
            sqlx::query(
                "UPDATE customer_authorizations SET authorized_at = $2 WHERE case_token = $1",
            )
            .bind(&token)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE collaboration_requests SET awaiting_customer = 0, pending_side = 'RECEIVER', \
                 respond_by = $2, updated_at = $3 WHERE token = $1 \
                 RETURNING submitter_member_id",
            )
            .bind(&token)
            .bind(decision.respond_by.map(millis).unwrap_or(at))
            .bind(at)
            .fetch_one(&mut *tx)
            .await?
            .parsed("submitter_member_id")?
        } else {
            sqlx::query(
                "UPDATE collaboration_requests SET status = 'CLOSED', pending_side = NULL, \
                 closed_at = $2, updated_at = $2 WHERE token = $1 RETURNING submitter_member_id",
            )
            .bind(&token)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?
            .parsed("submitter_member_id")?
        };
        insert_system_note(&mut tx, &cipher, &decision.note).await?;
        let action = if decision.authorize {
            AuditAction::CaseCustomerAuthorized
        } else {
            AuditAction::CaseCustomerDeclined
        };
        append_audit(&mut tx, system_audit(submitter, action, &token)).await?;
        if decision.authorize {
            start_clock(&mut tx, &token, at).await?;
            // The receiver sees the case for the first time.
            let receiver = case_receiver(&mut tx, &token).await?;
            emit_case(
                &mut tx,
                &token,
                "case.created",
                Audience::Only(receiver),
                json!({}),
                decision.at,
            )
            .await?;
            emit_case(
                &mut tx,
                &token,
                "case.authorized",
                Audience::Only(submitter),
                json!({}),
                decision.at,
            )
            .await?;
        } else {
            emit_case(
                &mut tx,
                &token,
                "case.status_changed",
                Audience::Only(submitter),
                json!({"reason": "CUSTOMER_DECLINED"}),
                decision.at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_by_link(&self, link_hash: &str, note: &NewNote) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT c.token, c.submitter_member_id FROM authorization_links l \
             JOIN collaboration_requests c ON c.token = l.case_token WHERE l.link_hash = $1",
        )
        .bind(link_hash)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let token = row.text("token")?;
        let submitter: MemberId = row.parsed("submitter_member_id")?;
        revoke(&self.keyring, &mut tx, &token, note).await?;
        append_audit(
            &mut tx,
            system_audit(submitter, AuditAction::CaseAuthorizationRevoked, &token),
        )
        .await?;
        emit_case(
            &mut tx,
            &token,
            "case.authorization_revoked",
            Audience::Both,
            json!({}),
            note.at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn authorization_receipt(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<Option<String>> {
        let mut conn = self.pool.acquire().await?;
        let case = fetch_case(&self.keyring, &mut conn, tenant, token).await?;
        if case.submitter != tenant.member() {
            return Err(StoreError::NotFound);
        }
        let stored = sqlx::query("SELECT receipt FROM authorization_links WHERE case_token = $1")
            .bind(token.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.opt_text("receipt"))
            .transpose()?
            .flatten();
        let cipher = cipher(&self.keyring, &mut conn, token.as_str()).await?;
        stored
            .map(|r| cipher.open("customer", "link/receipt", &r))
            .transpose()
    }

    async fn case_responses(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<Vec<ResponseRecord>> {
        let mut conn = self.pool.acquire().await?;
        let case = fetch_case(&self.keyring, &mut conn, tenant, token).await?;
        let cipher = cipher(&self.keyring, &mut conn, token.as_str()).await?;
        let rows = sqlx::query(
            "SELECT * FROM case_responses WHERE case_token = $1 ORDER BY created_at, id",
        )
        .bind(token.as_str())
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                let engineer = match (
                    row.opt_text("engineer_name")?,
                    row.opt_text("engineer_email")?,
                ) {
                    (Some(name), Some(email)) => Some(Contact {
                        name,
                        email: email.parse().map_err(|_| corrupt("engineer email"))?,
                        phone: row.opt_text("engineer_phone")?,
                    }),
                    _ => None,
                };
                let id = row.text("id")?;
                let side = row.opt_text("side")?.as_deref().and_then(CaseSide::parse);
                let writer = match side {
                    Some(CaseSide::Submitter) => case.submitter.to_string(),
                    Some(CaseSide::Receiver) => case.receiver.to_string(),
                    None => "system".to_owned(),
                };
                Ok(ResponseRecord {
                    response_type: ResponseType::parse(&row.text("response_type")?)
                        .ok_or_else(|| corrupt("response type"))?,
                    side,
                    engineer,
                    case_number: row.opt_text("case_number")?,
                    body: cipher.open(
                        &writer,
                        &format!("response/{id}/body"),
                        &row.text("body")?,
                    )?,
                    id,
                    created_at: row.time("created_at")?,
                })
            })
            .collect()
    }

    async fn case_notes(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        updated_after: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<NoteRecord>> {
        let mut conn = self.pool.acquire().await?;
        fetch_case(&self.keyring, &mut conn, tenant, token).await?;
        let cipher = cipher(&self.keyring, &mut conn, token.as_str()).await?;
        let rows = sqlx::query(
            "SELECT * FROM case_notes WHERE case_token = $1 \
             AND (visibility = 'SHARED' OR author_member_id = $2) \
             AND ($3 IS NULL OR created_at > $3) ORDER BY created_at, id",
        )
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .bind(updated_after.map(millis))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(|row| note_row(&cipher, row)).collect()
    }

    async fn change_case(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        change: &CaseChange,
    ) -> StoreResult<CaseRecord> {
        let mut tx = self.write().await?;
        let at = millis(change.at);
        let engineer = change.engineer.as_ref().map(to_json).transpose()?;
        let changed = sqlx::query(&format!(
            "UPDATE collaboration_requests SET status = $3, pending_side = $4, updated_at = $5, \
             responded = CASE WHEN $6 = 1 THEN 1 ELSE responded END, \
             receiver_engineer = CASE WHEN $7 = 1 THEN $8 ELSE receiver_engineer END, \
             receiver_case_number = CASE WHEN $7 = 1 THEN $9 ELSE receiver_case_number END, \
             closed_at = CASE WHEN $3 IN ('CLOSED', 'REJECTED') THEN $5 ELSE closed_at END \
             WHERE token = $1 AND {PARTY} AND status = $10"
        ))
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .bind(change.to.as_str())
        .bind(change.pending_side.map(CaseSide::as_str))
        .bind(at)
        .bind(i64::from(change.responded))
        .bind(i64::from(change.set_receiver))
        .bind(engineer)
        .bind(change.case_number.clone())
        .bind(change.from.as_str())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        let cipher = cipher(&self.keyring, &mut tx, token.as_str()).await?;
        insert_response(&mut tx, &cipher, &tenant.member().to_string(), change).await?;
        insert_vault(&mut tx, &cipher, tenant.member(), &change.vault, at).await?;
        append_audit(
            &mut tx,
            case_audit(tenant, AuditAction::of_step(change.response_type), token),
        )
        .await?;
        step_events(&mut tx, token.as_str(), tenant.member(), change).await?;
        let record = fetch_case(&self.keyring, &mut tx, tenant, token).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn update_case_details(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        internal_case_number: &str,
        contact: &Contact,
        at: DateTime<Utc>,
    ) -> StoreResult<CaseRecord> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE collaboration_requests SET internal_case_number = $3, submitter_contact = $4, \
             updated_at = $5 WHERE token = $1 AND submitter_member_id = $2",
        )
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .bind(internal_case_number)
        .bind(to_json(contact)?)
        .bind(millis(at))
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        append_audit(&mut tx, case_audit(tenant, AuditAction::CaseUpdated, token)).await?;
        let record = fetch_case(&self.keyring, &mut tx, tenant, token).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn add_note(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        note: &NewNote,
    ) -> StoreResult<NoteRecord> {
        let mut tx = self.write().await?;
        let case = fetch_case(&self.keyring, &mut tx, tenant, token).await?;
        if !case.status.is_live() {
            return Err(StoreError::Stale);
        }
        let id = uuid::Uuid::now_v7().to_string();
        let cipher = cipher(&self.keyring, &mut tx, token.as_str()).await?;
        let member = tenant.member().to_string();
        sqlx::query(
            "INSERT INTO case_notes (id, case_token, author_member_id, author_actor_id, author_name, \
             visibility, summary, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .bind(super::actor_id(tenant))
        .bind(&note.author_name)
        .bind(note.visibility.as_str())
        .bind(cipher.seal(&member, &format!("note/{id}/summary"), &note.summary))
        .bind(cipher.seal(&member, &format!("note/{id}/description"), &note.description))
        .bind(millis(note.at))
        .execute(&mut *tx)
        .await?;
        insert_vault(
            &mut tx,
            &cipher,
            tenant.member(),
            &note.vault,
            millis(note.at),
        )
        .await?;
        // An internal note must not show in the partner's view, not even as a newer timestamp.
        if note.visibility == Visibility::Shared {
            sqlx::query("UPDATE collaboration_requests SET updated_at = $2 WHERE token = $1")
                .bind(token.as_str())
                .bind(millis(note.at))
                .execute(&mut *tx)
                .await?;
        }
        append_audit(
            &mut tx,
            case_audit(tenant, AuditAction::CaseNoteAdded, token),
        )
        .await?;
        // Shared notes reach both companies; an internal one only its own.
        let audience = match note.visibility {
            Visibility::Shared => Audience::Both,
            Visibility::Internal => Audience::Only(tenant.member()),
        };
        emit_case(
            &mut tx,
            token.as_str(),
            "case.note_added",
            audience,
            json!({
                "noteId": id,
                "visibility": note.visibility.as_str(),
                "authorCompanyId": tenant.member().to_string(),
            }),
            note.at,
        )
        .await?;
        tx.commit().await?;
        Ok(NoteRecord {
            id,
            author_member: Some(tenant.member()),
            author_name: note.author_name.clone(),
            visibility: note.visibility,
            summary: note.summary.clone(),
            description: note.description.clone(),
            created_at: super::instant(millis(note.at)),
        })
    }

    async fn revoke_authorization(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        note: &NewNote,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let case = fetch_case(&self.keyring, &mut tx, tenant, token).await?;
        if case.submitter != tenant.member() {
            return Err(StoreError::NotFound);
        }
        revoke(&self.keyring, &mut tx, token.as_str(), note).await?;
        append_audit(
            &mut tx,
            case_audit(tenant, AuditAction::CaseAuthorizationRevoked, token),
        )
        .await?;
        emit_case(
            &mut tx,
            token.as_str(),
            "case.authorization_revoked",
            Audience::Both,
            json!({}),
            note.at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn pseudonym_key(
        &self,
        tenant: &Tenant,
        partnership: PartnershipId,
        candidate: [u8; 32],
        at: DateTime<Utc>,
    ) -> StoreResult<[u8; 32]> {
        let mut tx = self.write().await?;
        let party = sqlx::query(
            "SELECT 1 AS one FROM partnerships WHERE id = $1 \
             AND (proposer_member_id = $2 OR partner_member_id = $2)",
        )
        .bind(partnership.to_string())
        .bind(tenant.member().to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if party.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO pseudonym_keys (member_id, partnership_id, pseudonym_key, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (member_id, partnership_id) DO NOTHING",
        )
        .bind(tenant.member().to_string())
        .bind(partnership.to_string())
        .bind(hex::encode(candidate))
        .bind(millis(at))
        .execute(&mut *tx)
        .await?;
        let stored = sqlx::query(
            "SELECT pseudonym_key FROM pseudonym_keys WHERE member_id = $1 AND partnership_id = $2",
        )
        .bind(tenant.member().to_string())
        .bind(partnership.to_string())
        .fetch_one(&mut *tx)
        .await?
        .text("pseudonym_key")?;
        tx.commit().await?;
        hex::decode(stored)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| corrupt("pseudonym key"))
    }

    async fn case_vault(&self, tenant: &Tenant, token: &CaseToken) -> StoreResult<CaseVault> {
        let mut conn = self.pool.acquire().await?;
        let case = fetch_case(&self.keyring, &mut conn, tenant, token).await?;
        let cipher = cipher(&self.keyring, &mut conn, token.as_str()).await?;
        let member = tenant.member().to_string();
        let own = sqlx::query(&format!(
            "SELECT {VAULT_COLUMNS} FROM case_vault WHERE case_token = $1 AND member_id = $2 \
             ORDER BY created_at, pseudonym"
        ))
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| vault_row(&cipher, &member, row))
        .collect::<StoreResult<Vec<_>>>()?;
        let other = if case.submitter == tenant.member() {
            case.receiver
        } else {
            case.submitter
        };
        let mut partner_visible = Vec::new();
        let mut partner_pseudonyms = Vec::new();
        let rows = sqlx::query(
            "SELECT pseudonym, original, fate FROM case_vault WHERE case_token = $1 \
             AND member_id = $2 ORDER BY created_at, pseudonym",
        )
        .bind(token.as_str())
        .bind(other.to_string())
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let pseudonym = row.text("pseudonym")?;
            let fate = Fate::parse(&row.text("fate")?).ok_or_else(|| corrupt("vault fate"))?;
            if fate.visible_to_partner() {
                let original = cipher.open(
                    &other.to_string(),
                    &format!("vault/{pseudonym}"),
                    &row.text("original")?,
                )?;
                partner_visible.push((pseudonym.clone(), original));
            }
            partner_pseudonyms.push(pseudonym);
        }
        Ok(CaseVault {
            own,
            partner_visible,
            partner_pseudonyms,
        })
    }

    async fn release_value(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        pseudonym: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<VaultRow> {
        let mut tx = self.write().await?;
        fetch_case(&self.keyring, &mut tx, tenant, token).await?;
        let changed = sqlx::query(
            "UPDATE case_vault SET fate = 'RELEASED', release_reason = $4, released_at = $5 \
             WHERE case_token = $1 AND member_id = $2 AND pseudonym = $3 AND fate = 'PSEUDONYMIZED'",
        )
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .bind(pseudonym)
        .bind(reason)
        .bind(millis(at))
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE collaboration_requests SET updated_at = $2 WHERE token = $1")
            .bind(token.as_str())
            .bind(millis(at))
            .execute(&mut *tx)
            .await?;
        append_audit(
            &mut tx,
            case_audit(tenant, AuditAction::CaseValueReleased, token),
        )
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {VAULT_COLUMNS} FROM case_vault WHERE case_token = $1 AND member_id = $2 \
             AND pseudonym = $3"
        ))
        .bind(token.as_str())
        .bind(tenant.member().to_string())
        .bind(pseudonym)
        .fetch_one(&mut *tx)
        .await?;
        let cipher = cipher(&self.keyring, &mut tx, token.as_str()).await?;
        let released = vault_row(&cipher, &tenant.member().to_string(), &row)?;
        tx.commit().await?;
        Ok(released)
    }

    async fn search_directory(
        &self,
        tenant: &Tenant,
        term: &str,
    ) -> StoreResult<Vec<DirectoryEntry>> {
        let pattern = format!("%{}%", term.to_lowercase().replace(['%', '_', '\\'], ""));
        let rows = sqlx::query(
            "SELECT m.id AS member_id, m.name AS member_name, d.id AS department_id, \
                    d.name AS department_name \
             FROM members m LEFT JOIN departments d ON d.member_id = m.id \
             WHERE m.id <> $1 AND (LOWER(m.name) LIKE $2 OR LOWER(d.name) LIKE $2 \
                OR LOWER(d.tags) LIKE $2) \
             ORDER BY m.name, d.name LIMIT 200",
        )
        .bind(tenant.member().to_string())
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let department = match row.opt_parsed::<DepartmentId>("department_id")? {
                    Some(id) => Some((id, row.text("department_name")?)),
                    None => None,
                };
                Ok(DirectoryEntry {
                    member_id: row.parsed("member_id")?,
                    member_name: row.text("member_name")?,
                    department,
                })
            })
            .collect()
    }

    async fn current_form_id(
        &self,
        owner: MemberId,
        department: Option<DepartmentId>,
    ) -> StoreResult<Option<DocumentId>> {
        let scope = department.map_or_else(|| "company".to_owned(), |d| d.to_string());
        sqlx::query(
            "SELECT document_id FROM process_forms WHERE member_id = $1 AND scope = $2 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(owner.to_string())
        .bind(scope)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.parsed("document_id"))
        .transpose()
    }

    async fn form_version(&self, document: DocumentId) -> StoreResult<Option<ProcessForm>> {
        sqlx::query("SELECT * FROM process_forms WHERE document_id = $1")
            .bind(document.to_string())
            .fetch_optional(&self.pool)
            .await?
            .map(|row| form_row(&row))
            .transpose()
    }

    async fn close_inactive_cases(
        &self,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CaseToken>> {
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "UPDATE collaboration_requests SET status = 'CLOSED', pending_side = NULL, \
             updated_at = $2, closed_at = $2 \
             WHERE status IN ('OPEN', 'INFORMATION', 'ACCEPTED') AND updated_at < $1 \
             RETURNING token, submitter_member_id, receiver_member_id",
        )
        .bind(millis(idle_since))
        .bind(millis(now))
        .fetch_all(&mut *tx)
        .await?;
        let mut closed = Vec::with_capacity(rows.len());
        for row in &rows {
            let token = row.text("token")?;
            let note = NewNote::system(
                "Closed after a period without activity",
                "This request had no activity for the configured period and was closed automatically.",
                now,
            );
            let cipher = cipher(&self.keyring, &mut tx, &token).await?;
            insert_system_note(&mut tx, &cipher, &note).await?;
            let id = uuid::Uuid::now_v7().to_string();
            sqlx::query(
                "INSERT INTO case_responses (id, case_token, response_type, side, actor_id, body, created_at) \
                 VALUES ($1, $2, 'SYSTEM', NULL, NULL, $3, $4)",
            )
            .bind(&id)
            .bind(&token)
            .bind(cipher.seal("system", &format!("response/{id}/body"), &note.summary))
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            for member in ["submitter_member_id", "receiver_member_id"] {
                let member: MemberId = row.parsed(member)?;
                append_audit(
                    &mut tx,
                    system_audit(member, AuditAction::CaseClosedInactive, &token),
                )
                .await?;
            }
            emit_case(
                &mut tx,
                &token,
                "case.status_changed",
                Audience::Both,
                json!({"reason": "INACTIVITY"}),
                now,
            )
            .await?;
            closed.push(CaseToken::parse(&token).map_err(|_| corrupt("token"))?);
        }
        tx.commit().await?;
        Ok(closed)
    }

    async fn mark_overdue_cases(&self, now: DateTime<Utc>) -> StoreResult<Vec<CaseToken>> {
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "UPDATE collaboration_requests SET overdue = 1 \
             WHERE overdue = 0 AND responded = 0 AND status IN ('OPEN', 'INFORMATION') \
               AND awaiting_customer = 0 AND respond_by < $1 RETURNING token, receiver_member_id",
        )
        .bind(millis(now))
        .fetch_all(&mut *tx)
        .await?;
        let mut overdue = Vec::with_capacity(rows.len());
        for row in &rows {
            let token = row.text("token")?;
            let receiver: MemberId = row.parsed("receiver_member_id")?;
            append_audit(
                &mut tx,
                system_audit(receiver, AuditAction::CaseOverdue, &token),
            )
            .await?;
            // Recorded once (the flag above), told to both sides on the case itself.
            let cipher = cipher(&self.keyring, &mut tx, &token).await?;
            let note = NewNote::system(
                "Response target missed",
                "The first response was due and has not been given. The receiver's escalation contacts are notified.",
                now,
            );
            insert_system_note(&mut tx, &cipher, &note).await?;
            emit_case(
                &mut tx,
                &token,
                "case.sla_breached",
                Audience::Both,
                json!({}),
                now,
            )
            .await?;
            overdue.push(CaseToken::parse(&token).map_err(|_| corrupt("token"))?);
        }
        tx.commit().await?;
        Ok(overdue)
    }

    async fn remind_cases(&self, now: DateTime<Utc>) -> StoreResult<usize> {
        let mut tx = self.write().await?;
        let mut sent = 0;
        for (flag, at, kind, summary) in [
            (
                "reminded_half",
                "remind_half_at",
                "HALF_WINDOW",
                "Half of the response time has passed",
            ),
            (
                "reminded_due",
                "remind_due_at",
                "DUE_SOON",
                "The response is due soon",
            ),
        ] {
            let rows = sqlx::query(&format!(
                "UPDATE collaboration_requests SET {flag} = 1 \
                 WHERE {flag} = 0 AND {at} IS NOT NULL AND {at} <= $1 AND respond_by > $1 \
                   AND responded = 0 AND status IN ('OPEN', 'INFORMATION') AND awaiting_customer = 0 \
                 RETURNING token, receiver_member_id, respond_by"
            ))
            .bind(millis(now))
            .fetch_all(&mut *tx)
            .await?;
            for row in &rows {
                let token = row.text("token")?;
                let receiver: MemberId = row.parsed("receiver_member_id")?;
                let due = row.time("respond_by")?;
                let cipher = cipher(&self.keyring, &mut tx, &token).await?;
                let note = NewNote::system(
                    summary,
                    &format!(
                        "No first response yet; the target is {}.",
                        due.format("%-d %B %Y, %H:%M UTC")
                    ),
                    now,
                );
                insert_system_note(&mut tx, &cipher, &note).await?;
                emit_case(
                    &mut tx,
                    &token,
                    "case.sla_reminder",
                    Audience::Only(receiver),
                    json!({"reminder": kind}),
                    now,
                )
                .await?;
                sent += 1;
            }
        }
        tx.commit().await?;
        Ok(sent)
    }

    async fn sla_rows(
        &self,
        tenant: &Tenant,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SlaRow>> {
        sqlx::query(
            "SELECT c.priority, COALESCE(c.clock_started_at, c.created_at) AS started, c.respond_by, \
                    c.overdue, \
                    (SELECT MIN(r.created_at) FROM case_responses r \
                     WHERE r.case_token = c.token AND r.side = 'RECEIVER') AS first_response \
             FROM collaboration_requests c \
             WHERE c.receiver_member_id = $1 AND c.awaiting_customer = 0 AND c.test_case = 0 \
               AND COALESCE(c.clock_started_at, c.created_at) >= $2 \
               AND COALESCE(c.clock_started_at, c.created_at) < $3 \
             ORDER BY started",
        )
        .bind(tenant.member().to_string())
        .bind(millis(from))
        .bind(millis(to))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(SlaRow {
                priority: parse_priority(&row.text("priority")?)?,
                clock_started_at: row.time("started")?,
                respond_by: row.time("respond_by")?,
                first_response_at: row.opt_time("first_response")?,
                breached: row.int("overdue")? != 0,
            })
        })
        .collect()
    }

    async fn purge_expired_cases(&self, now: DateTime<Utc>) -> StoreResult<Vec<CaseToken>> {
        let now_ms = millis(now);
        let mut tx = self.write().await?;
        let rows = sqlx::query(
            "SELECT c.token, c.submitter_member_id, c.receiver_member_id, c.closed_at, \
             a.revoked_at, p.retention_days FROM collaboration_requests c \
             JOIN case_keys k ON k.case_token = c.token \
             JOIN partnerships p ON p.id = c.partnership_id \
             JOIN customer_authorizations a ON a.case_token = c.token \
             WHERE k.wrapped_key IS NOT NULL \
               AND (c.closed_at IS NOT NULL OR a.revoked_at IS NOT NULL) \
               AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_token = c.token)",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut purged = Vec::new();
        for row in &rows {
            // The retention period runs from the end of sharing: closure or revocation.
            let ended = match (row.opt_int("closed_at")?, row.opt_int("revoked_at")?) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => continue,
            };
            let retention = row.int("retention_days")?.max(0) * 86_400_000;
            if ended + retention > now_ms {
                continue;
            }
            let token = row.text("token")?;
            if !destroy_content(&mut tx, &token, now_ms).await? {
                continue;
            }
            for member in ["submitter_member_id", "receiver_member_id"] {
                let member: MemberId = row.parsed(member)?;
                append_audit(
                    &mut tx,
                    system_audit(member, AuditAction::CasePurged, &token),
                )
                .await?;
            }
            purged.push(CaseToken::parse(&token).map_err(|_| corrupt("token"))?);
        }
        tx.commit().await?;
        Ok(purged)
    }

    async fn set_legal_hold(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
        hold: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        fetch_case(&self.keyring, &mut tx, tenant, token).await?;
        let changed = if hold {
            sqlx::query(
                "INSERT INTO legal_holds (case_token, member_id, placed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (case_token, member_id) DO NOTHING",
            )
            .bind(token.as_str())
            .bind(tenant.member().to_string())
            .bind(millis(at))
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query("DELETE FROM legal_holds WHERE case_token = $1 AND member_id = $2")
                .bind(token.as_str())
                .bind(tenant.member().to_string())
                .execute(&mut *tx)
                .await?
        };
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        let action = if hold {
            AuditAction::CaseLegalHoldPlaced
        } else {
            AuditAction::CaseLegalHoldReleased
        };
        append_audit(&mut tx, case_audit(tenant, action, token)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn erase_subject(
        &self,
        tenant: Option<&Tenant>,
        email: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<SubjectErasure> {
        let now_ms = millis(at);
        let mut tx = self.write().await?;
        let index = subject_key(&self.keyring, &mut tx, now_ms).await?;
        let rows = sqlx::query(
            "SELECT c.token, c.submitter_member_id, c.receiver_member_id, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_token = c.token) \
             THEN 1 ELSE 0 END AS BIGINT) AS held \
             FROM subject_index s JOIN collaboration_requests c ON c.token = s.case_token \
             JOIN case_keys k ON k.case_token = c.token \
             WHERE s.blind = $1 AND k.wrapped_key IS NOT NULL \
               AND ($2 IS NULL OR c.submitter_member_id = $2) ORDER BY c.token",
        )
        .bind(blind(&index, email))
        .bind(tenant.map(|t| t.member().to_string()))
        .fetch_all(&mut *tx)
        .await?;
        let mut erasure = SubjectErasure::default();
        for row in &rows {
            let token = row.text("token")?;
            let parsed = CaseToken::parse(&token).map_err(|_| corrupt("token"))?;
            if row.int("held")? != 0 {
                erasure.held.push(parsed);
                continue;
            }
            if !destroy_content(&mut tx, &token, now_ms).await? {
                continue;
            }
            sqlx::query("DELETE FROM subject_index WHERE case_token = $1")
                .bind(&token)
                .execute(&mut *tx)
                .await?;
            // The audit names the case, never the person.
            for member in ["submitter_member_id", "receiver_member_id"] {
                let member: MemberId = row.parsed(member)?;
                let mut event = system_audit(member, AuditAction::CaseSubjectErased, &token);
                if let Some(tenant) = tenant.filter(|t| t.member() == member) {
                    event = case_audit(tenant, AuditAction::CaseSubjectErased, &parsed);
                }
                append_audit(&mut tx, event).await?;
            }
            erasure.erased.push(parsed);
        }
        tx.commit().await?;
        Ok(erasure)
    }

    async fn legal_hold(
        &self,
        tenant: &Tenant,
        token: &CaseToken,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        let mut conn = self.pool.acquire().await?;
        fetch_case(&self.keyring, &mut conn, tenant, token).await?;
        sqlx::query("SELECT placed_at FROM legal_holds WHERE case_token = $1 AND member_id = $2")
            .bind(token.as_str())
            .bind(tenant.member().to_string())
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| row.time("placed_at"))
            .transpose()
    }

    async fn reserve_idempotency_key(
        &self,
        member: MemberId,
        key: &str,
        request_hash: &str,
    ) -> StoreResult<Option<IdempotentOutcome>> {
        let mut tx = self.write().await?;
        let existing = sqlx::query(
            "SELECT request_hash, status_code, response_body FROM idempotency_keys \
             WHERE member_id = $1 AND idempotency_key = $2",
        )
        .bind(member.to_string())
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            let response = match (row.opt_int("status_code")?, row.opt_text("response_body")?) {
                (Some(status), Some(body)) => Some((u16::try_from(status).unwrap_or(500), body)),
                _ => None,
            };
            return Ok(Some(IdempotentOutcome {
                request_hash: row.text("request_hash")?,
                response,
            }));
        }
        sqlx::query(
            "INSERT INTO idempotency_keys (member_id, idempotency_key, request_hash, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(member.to_string())
        .bind(key)
        .bind(request_hash)
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(unique(
            "this idempotency key is being used by another request",
        ))?;
        tx.commit().await?;
        Ok(None)
    }

    async fn complete_idempotency_key(
        &self,
        member: MemberId,
        key: &str,
        status: u16,
        body: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status_code = $3, response_body = $4 \
             WHERE member_id = $1 AND idempotency_key = $2",
        )
        .bind(member.to_string())
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release_idempotency_key(&self, member: MemberId, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE member_id = $1 AND idempotency_key = $2")
            .bind(member.to_string())
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Destroys a case's data key (crypto-shredding), deletes its vault and ends it if live;
/// `false` if it was already erased.
async fn destroy_content(conn: &mut AnyConnection, token: &str, now_ms: i64) -> StoreResult<bool> {
    let destroyed = sqlx::query(
        "UPDATE case_keys SET wrapped_key = NULL, destroyed_at = $2 \
         WHERE case_token = $1 AND wrapped_key IS NOT NULL",
    )
    .bind(token)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    if destroyed.rows_affected() == 0 {
        return Ok(false);
    }
    // Pseudonyms mean nothing without the vault; a live case ends here.
    sqlx::query("DELETE FROM case_vault WHERE case_token = $1")
        .bind(token)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE collaboration_requests SET status = CASE WHEN status IN \
         ('OPEN', 'INFORMATION', 'ACCEPTED') THEN 'CLOSED' ELSE status END, \
         pending_side = NULL, closed_at = COALESCE(closed_at, $2) WHERE token = $1",
    )
    .bind(token)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// The key of the subject index, created on first use.
async fn subject_key(
    keyring: &Keyring,
    conn: &mut AnyConnection,
    at: i64,
) -> StoreResult<[u8; 32]> {
    platform_key(keyring, conn, "subject-index", at).await
}

/// A platform key by name, created on first use (the first writer wins).
pub(super) async fn platform_key(
    keyring: &Keyring,
    conn: &mut AnyConnection,
    name: &str,
    at: i64,
) -> StoreResult<[u8; 32]> {
    let (_, wrapped, key_id) = keyring.new_platform_key(name);
    sqlx::query(
        "INSERT INTO platform_keys (name, wrapped_key, key_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&wrapped)
    .bind(&key_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT wrapped_key, key_id FROM platform_keys WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
    keyring.unwrap_platform_key(name, &row.text("wrapped_key")?, &row.text("key_id")?)
}

/// The blind index of an email address: HMAC-SHA-256 under the subject index key, of the
/// address as compared (trimmed, lower case).
fn blind(key: &[u8; 32], email: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(email.trim().to_lowercase().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Marks a case's authorization revoked (once) with a system note both sides see.
async fn revoke(
    keyring: &Keyring,
    conn: &mut AnyConnection,
    token: &str,
    note: &NewNote,
) -> StoreResult<()> {
    let at = millis(note.at);
    let changed = sqlx::query(
        "UPDATE customer_authorizations SET revoked_at = $2 \
         WHERE case_token = $1 AND revoked_at IS NULL",
    )
    .bind(token)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Err(StoreError::Stale);
    }
    let cipher = cipher(keyring, conn, token).await?;
    insert_system_note(conn, &cipher, note).await?;
    sqlx::query("UPDATE collaboration_requests SET updated_at = $2 WHERE token = $1")
        .bind(token)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A note by the platform itself (no member, no actor), seen by both sides.
async fn insert_system_note(
    conn: &mut AnyConnection,
    cipher: &Cipher,
    note: &NewNote,
) -> StoreResult<()> {
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO case_notes (id, case_token, author_member_id, author_actor_id, \
         author_name, visibility, summary, description, created_at) \
         VALUES ($1, $2, NULL, NULL, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&cipher.token)
    .bind(&note.author_name)
    .bind(note.visibility.as_str())
    .bind(cipher.seal("system", &format!("note/{id}/summary"), &note.summary))
    .bind(cipher.seal(
        "system",
        &format!("note/{id}/description"),
        &note.description,
    ))
    .bind(millis(note.at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records what pseudonyms stand for; a pseudonym already in the vault keeps its entry
/// (the same value under the same key, possibly released since).
async fn insert_vault(
    conn: &mut AnyConnection,
    cipher: &Cipher,
    member: MemberId,
    entries: &[VaultEntry],
    at: i64,
) -> StoreResult<()> {
    for entry in entries {
        sqlx::query(
            "INSERT INTO case_vault (case_token, member_id, pseudonym, original, category, kind, \
             fate, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (case_token, member_id, pseudonym) DO NOTHING",
        )
        .bind(&cipher.token)
        .bind(member.to_string())
        .bind(&entry.pseudonym)
        .bind(cipher.seal(
            &member.to_string(),
            &format!("vault/{}", entry.pseudonym),
            &entry.original,
        ))
        .bind(entry.category.as_str())
        .bind(&entry.kind)
        .bind(entry.fate.as_str())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn vault_row(cipher: &Cipher, member: &str, row: &AnyRow) -> StoreResult<VaultRow> {
    let pseudonym = row.text("pseudonym")?;
    Ok(VaultRow {
        entry: VaultEntry {
            original: cipher.open(
                member,
                &format!("vault/{pseudonym}"),
                &row.text("original")?,
            )?,
            pseudonym,
            category: row
                .text("category")?
                .parse()
                .map_err(|_| corrupt("vault category"))?,
            kind: row.text("kind")?,
            fate: Fate::parse(&row.text("fate")?).ok_or_else(|| corrupt("vault fate"))?,
        },
        release_reason: row.opt_text("release_reason")?,
        released_at: row.opt_time("released_at")?,
    })
}

const VAULT_COLUMNS: &str =
    "pseudonym, original, category, kind, fate, release_reason, released_at";

async fn insert_response(
    conn: &mut AnyConnection,
    cipher: &Cipher,
    member: &str,
    change: &CaseChange,
) -> StoreResult<()> {
    let engineer = change.engineer.as_ref();
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO case_responses (id, case_token, response_type, side, actor_id, engineer_name, \
         engineer_email, engineer_phone, case_number, body, created_at) \
         VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(&cipher.token)
    .bind(change.response_type.as_str())
    .bind(change.side.map(CaseSide::as_str))
    .bind(engineer.map(|e| e.name.clone()))
    .bind(engineer.map(|e| e.email.to_string()))
    .bind(engineer.and_then(|e| e.phone.clone()))
    .bind(change.case_number.clone())
    .bind(cipher.seal(member, &format!("response/{id}/body"), &change.body))
    .bind(millis(change.at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn note_row(cipher: &Cipher, row: &AnyRow) -> StoreResult<NoteRecord> {
    let id = row.text("id")?;
    let author = row
        .opt_text("author_member_id")?
        .unwrap_or_else(|| "system".to_owned());
    let open =
        |column: &str| cipher.open(&author, &format!("note/{id}/{column}"), &row.text(column)?);
    Ok(NoteRecord {
        summary: open("summary")?,
        description: open("description")?,
        id,
        author_member: row.opt_parsed("author_member_id")?,
        author_name: row.text("author_name")?,
        visibility: Visibility::parse(&row.text("visibility")?)
            .ok_or_else(|| corrupt("visibility"))?,
        created_at: row.time("created_at")?,
    })
}

/// A case's authorization, from a row that also holds `submitter_member_id`.
fn authorization_row(cipher: &Cipher, row: &AnyRow) -> StoreResult<CustomerAuthorization> {
    let submitter = row.text("submitter_member_id")?;
    let email = match cipher.erased_at {
        // Stands in for the erased address; `.invalid` never delivers (RFC 2606).
        Some(_) => "erased@erased.invalid".to_owned(),
        None => cipher.open(
            &submitter,
            "authorization/email",
            &row.text("authorized_by_email")?,
        )?,
    };
    Ok(CustomerAuthorization {
        method: AuthorizationMethod::parse(&row.text("method")?)
            .ok_or_else(|| corrupt("authorization method"))?,
        authorized_by_name: cipher.open(
            &submitter,
            "authorization/name",
            &row.text("authorized_by_name")?,
        )?,
        authorized_by_email: email.parse().map_err(|_| corrupt("authorization email"))?,
        authorized_at: row.time("authorized_at")?,
        purpose: row.text("purpose")?,
        data_categories: row.json("data_categories")?,
        expires_at: row.opt_time("expires_at")?,
        evidence: row.opt_text("evidence")?,
        revoked_at: row.opt_time("revoked_at")?,
        link: match row.opt_text("link_state")? {
            Some(state) => Some(LinkState::parse(&state).ok_or_else(|| corrupt("link state"))?),
            None => None,
        },
    })
}

async fn case_receiver(conn: &mut AnyConnection, token: &str) -> StoreResult<MemberId> {
    sqlx::query("SELECT receiver_member_id FROM collaboration_requests WHERE token = $1")
        .bind(token)
        .fetch_one(&mut *conn)
        .await?
        .parsed("receiver_member_id")
}

/// The events of a formal step: the response to the other side, the status change to
/// both, and an information request to the submitter.
async fn step_events(
    conn: &mut AnyConnection,
    token: &str,
    actor: MemberId,
    change: &CaseChange,
) -> StoreResult<()> {
    let row = sqlx::query(
        "SELECT submitter_member_id, receiver_member_id FROM collaboration_requests WHERE token = $1",
    )
    .bind(token)
    .fetch_one(&mut *conn)
    .await?;
    let submitter: MemberId = row.parsed("submitter_member_id")?;
    let receiver: MemberId = row.parsed("receiver_member_id")?;
    let other = if actor == submitter {
        receiver
    } else {
        submitter
    };
    let step = json!({"responseType": change.response_type.as_str()});
    emit_case(
        conn,
        token,
        "case.response_added",
        Audience::Only(other),
        step.clone(),
        change.at,
    )
    .await?;
    if change.from != change.to {
        let moved = json!({"previousStatus": change.from.as_str(), "responseType": change.response_type.as_str()});
        emit_case(
            conn,
            token,
            "case.status_changed",
            Audience::Both,
            moved,
            change.at,
        )
        .await?;
    }
    if change.response_type == ResponseType::InformationRequest {
        emit_case(
            conn,
            token,
            "case.information_requested",
            Audience::Only(submitter),
            step,
            change.at,
        )
        .await?;
    }
    Ok(())
}

/// Starts a case's response clock at `start`: the reminders fall at half the window and
/// when a tenth of it is left.
async fn start_clock(conn: &mut AnyConnection, token: &str, start: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE collaboration_requests SET clock_started_at = $2, \
         remind_half_at = $2 + (respond_by - $2) / 2, \
         remind_due_at = respond_by - (respond_by - $2) / 10 WHERE token = $1",
    )
    .bind(token)
    .bind(start)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
