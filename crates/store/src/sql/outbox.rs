//! The outbox: events written in the transaction of the change that causes them, their
//! fan-out to webhook subscriptions, and leased, ordered, retried deliveries.

use async_trait::async_trait;
use casebridge_domain::audit::AuditAction;
use casebridge_domain::MemberId;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use uuid::Uuid;

use super::{millis, RowExt, SqlStore};
use crate::crypto::{DataKey, Keyring};
use crate::records::*;
use crate::{OutboxStore, StoreError, StoreResult, Tenant};

/// Appends the audit event of a change made for `tenant`.
async fn audit(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    action: AuditAction,
    object_type: &'static str,
    id: impl ToString,
) -> StoreResult<()> {
    super::append_audit(
        conn,
        super::AuditRecord::by(tenant, action, object_type, id),
    )
    .await
}

/// Writes one event (one id) for each recipient, next in its aggregate's order.
pub(super) async fn emit(
    conn: &mut AnyConnection,
    event_type: &str,
    aggregate: &str,
    recipients: &[(MemberId, Value)],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if recipients.is_empty() {
        return Ok(());
    }
    let seq = next_seq(conn, aggregate).await?;
    let id = Uuid::now_v7().to_string();
    for (member, data) in recipients {
        sqlx::query(
            "INSERT INTO outbox_events (id, member_id, event_type, aggregate, aggregate_seq, \
             data, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(member.to_string())
        .bind(event_type)
        .bind(aggregate)
        .bind(seq)
        .bind(data.to_string())
        .bind(millis(at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// An event about a case for `audience`: the case's metadata (never its content) as each
/// recipient sees it, merged with `extra`. A case still waiting for its customer has no
/// receiver yet.
pub(super) async fn emit_case(
    conn: &mut AnyConnection,
    token: &str,
    event_type: &str,
    audience: Audience,
    extra: Value,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let row = sqlx::query(
        "SELECT submitter_member_id, receiver_member_id, status, awaiting_customer, priority, \
                internal_case_number, receiver_case_number, respond_by \
         FROM collaboration_requests WHERE token = $1",
    )
    .bind(token)
    .fetch_one(&mut *conn)
    .await?;
    let submitter: MemberId = row.parsed("submitter_member_id")?;
    let receiver: MemberId = row.parsed("receiver_member_id")?;
    let awaiting = row.int("awaiting_customer")? != 0;
    let names = sqlx::query("SELECT id, name FROM members WHERE id IN ($1, $2)")
        .bind(submitter.to_string())
        .bind(receiver.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let name_of = |member: MemberId| {
        names
            .iter()
            .find(|r| r.text("id").ok() == Some(member.to_string()))
            .and_then(|r| r.text("name").ok())
            .unwrap_or_default()
    };
    let status = if awaiting {
        "PENDING_AUTHORIZATION".to_owned()
    } else {
        row.text("status")?
    };
    let mut members = match audience {
        Audience::Both => vec![submitter, receiver],
        Audience::Only(member) => vec![member],
    };
    members.retain(|m| *m == submitter || (*m == receiver && !awaiting));
    let recipients: Vec<(MemberId, Value)> = members
        .into_iter()
        .map(|member| {
            let mut data = json!({
                "token": token,
                "direction": if member == submitter { "OUTBOUND" } else { "INBOUND" },
                "partnerName": name_of(if member == submitter { receiver } else { submitter }),
                "status": status,
                "priority": row.text("priority").unwrap_or_default(),
                "submitterCaseNumber": row.text("internal_case_number").unwrap_or_default(),
                "receiverCaseNumber": row.opt_text("receiver_case_number").unwrap_or_default(),
                "respondBy": row.time("respond_by").ok().map(|t| t.to_rfc3339()),
            });
            if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), &extra) {
                data.extend(extra.clone());
            }
            (member, data)
        })
        .collect();
    emit(conn, event_type, token, &recipients, at).await
}

/// The next position in an aggregate's event order.
async fn next_seq(conn: &mut AnyConnection, aggregate: &str) -> StoreResult<i64> {
    sqlx::query(
        "SELECT COALESCE(MAX(aggregate_seq), 0) + 1 AS n FROM outbox_events WHERE aggregate = $1",
    )
    .bind(aggregate)
    .fetch_one(&mut *conn)
    .await?
    .int("n")
}

/// Queues the email that takes a customer their authorization link: an event for the
/// submitter (already fanned out: it goes to no webhook) and one email delivery whose
/// content is sealed, because the link exists nowhere else.
pub(super) async fn queue_link_email(
    keyring: &Keyring,
    conn: &mut AnyConnection,
    token: &str,
    submitter: MemberId,
    email: &LinkEmail,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let seq = next_seq(conn, token).await?;
    let event = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO outbox_events (id, member_id, event_type, aggregate, aggregate_seq, data, \
         occurred_at, fanned_out_at) VALUES ($1, $2, 'case.authorization_requested', $3, $4, $5, $6, $6)",
    )
    .bind(&event)
    .bind(submitter.to_string())
    .bind(token)
    .bind(seq)
    .bind(json!({"token": token}).to_string())
    .bind(millis(at))
    .execute(&mut *conn)
    .await?;
    let key = webhook_key(keyring, conn).await?;
    let id = Uuid::now_v7().to_string();
    let payload = super::to_json(email)?;
    sqlx::query(
        "INSERT INTO deliveries (id, event_id, member_id, channel, target, aggregate, \
         aggregate_seq, status, attempts, next_attempt_at, created_at, window_start, payload) \
         VALUES ($1, $2, $3, 'email', $4, $5, $6, 'PENDING', 0, $7, $7, $7, $8)",
    )
    .bind(&id)
    .bind(&event)
    .bind(submitter.to_string())
    .bind(email.to.to_lowercase())
    .bind(token)
    .bind(seq)
    .bind(millis(at))
    .bind(key.seal(&format!("delivery/{id}/payload"), &payload))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The key webhook secrets are sealed with, created on first use.
async fn webhook_key(keyring: &Keyring, conn: &mut AnyConnection) -> StoreResult<DataKey> {
    let key =
        super::cases::platform_key(keyring, conn, "webhook-secrets", millis(Utc::now())).await?;
    Ok(DataKey::from_bytes(&key))
}

const WEBHOOK_COLUMNS: &str = "id, member_id, callback_url, event_types, callback_auth, created_at";

fn webhook_row(row: &AnyRow) -> StoreResult<WebhookRecord> {
    let event_types = match row.opt_text("event_types")? {
        Some(raw) => {
            Some(serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        }
        None => None,
    };
    Ok(WebhookRecord {
        id: row.text("id")?,
        member_id: row.parsed("member_id")?,
        callback_url: row.text("callback_url")?,
        event_types,
        has_callback_auth: row.opt_text("callback_auth")?.is_some(),
        created_at: row.time("created_at")?,
    })
}

const DELIVERY_COLUMNS: &str = "d.id, d.event_id, d.target, d.aggregate, d.status, d.attempts, \
     d.last_status_code, d.last_error, d.next_attempt_at, d.created_at, d.delivered_at, \
     (SELECT o.event_type FROM outbox_events o WHERE o.id = d.event_id AND o.member_id = d.member_id) AS event_type";

fn delivery_row(row: &AnyRow) -> StoreResult<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: row.text("id")?,
        event_id: row.text("event_id")?,
        target: row.text("target")?,
        event_type: row.opt_text("event_type")?.unwrap_or_default(),
        aggregate: row.text("aggregate")?,
        status: DeliveryStatus::parse(&row.text("status")?)
            .ok_or_else(|| StoreError::Corrupt("unknown delivery status".into()))?,
        attempts: row.int("attempts")?,
        last_status_code: row.opt_int("last_status_code")?,
        last_error: row.opt_text("last_error")?,
        next_attempt_at: row.time("next_attempt_at")?,
        created_at: row.time("created_at")?,
        delivered_at: row.opt_time("delivered_at")?,
    })
}

/// Puts one of the tenant's deliveries back in line from `now`, with a fresh retry
/// window: a webhook's (`webhook` names it) or, without one, an email.
async fn reschedule(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    delivery: &str,
    webhook: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<DeliveryRecord> {
    let (channel, action) = match webhook {
        Some(_) => ("webhook", AuditAction::WebhookRedelivered),
        None => ("email", AuditAction::EmailRedelivered),
    };
    let updated = sqlx::query(
        "UPDATE deliveries SET status = 'PENDING', next_attempt_at = $1, window_start = $1, \
         lease_until = NULL, leased_by = NULL \
         WHERE id = $2 AND member_id = $3 AND channel = $4 AND ($5 = '' OR target = $5)",
    )
    .bind(millis(now))
    .bind(delivery)
    .bind(tenant.member().to_string())
    .bind(channel)
    .bind(webhook.unwrap_or_default())
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    audit(conn, tenant, action, "delivery", delivery).await?;
    let row = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.id = $1"
    ))
    .bind(delivery)
    .fetch_one(&mut *conn)
    .await?;
    delivery_row(&row)
}

fn wants(event_types: Option<&str>, event_type: &str) -> bool {
    match event_types {
        None => true,
        Some(raw) => serde_json::from_str::<Vec<String>>(raw)
            .map(|types| types.iter().any(|t| t == event_type))
            .unwrap_or(false),
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn notification_settings(&self, tenant: &Tenant) -> StoreResult<NotificationSettings> {
        let row = sqlx::query("SELECT inbound_bcc, outbound_bcc FROM members WHERE id = $1")
            .bind(tenant.member().to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(NotificationSettings {
            inbound_bcc: row.opt_text("inbound_bcc")?,
            outbound_bcc: row.opt_text("outbound_bcc")?,
        })
    }

    async fn set_notification_settings(
        &self,
        tenant: &Tenant,
        settings: &NotificationSettings,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE members SET inbound_bcc = $1, outbound_bcc = $2 WHERE id = $3")
            .bind(&settings.inbound_bcc)
            .bind(&settings.outbound_bcc)
            .bind(tenant.member().to_string())
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            tenant,
            AuditAction::NotificationSettingsChanged,
            "member",
            tenant.member(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn note_emails(&self, tenant: &Tenant) -> StoreResult<bool> {
        let Some(user) = tenant.user() else {
            return Ok(false);
        };
        let row = sqlx::query("SELECT note_emails FROM users WHERE id = $1 AND member_id = $2")
            .bind(user.to_string())
            .bind(tenant.member().to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.int("note_emails")? != 0)
    }

    async fn set_note_emails(&self, tenant: &Tenant, on: bool) -> StoreResult<()> {
        let Some(user) = tenant.user() else {
            return Err(StoreError::NotFound);
        };
        sqlx::query("UPDATE users SET note_emails = $1 WHERE id = $2 AND member_id = $3")
            .bind(i64::from(on))
            .bind(user.to_string())
            .bind(tenant.member().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_webhook(
        &self,
        tenant: &Tenant,
        hook: &NewWebhook,
    ) -> StoreResult<WebhookRecord> {
        let mut tx = self.write().await?;
        let key = webhook_key(&self.keyring, &mut tx).await?;
        let id = Uuid::now_v7().to_string();
        let event_types = hook.event_types.as_ref().map(super::to_json).transpose()?;
        sqlx::query(
            "INSERT INTO webhooks (id, member_id, callback_url, event_types, secret, \
             callback_auth, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(tenant.member().to_string())
        .bind(&hook.callback_url)
        .bind(event_types)
        .bind(key.seal(&format!("webhook/{id}/secret"), &hook.secret))
        .bind(
            hook.callback_auth
                .as_ref()
                .map(|auth| key.seal(&format!("webhook/{id}/auth"), auth)),
        )
        .bind(millis(hook.created_at))
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, tenant, AuditAction::WebhookCreated, "webhook", &id).await?;
        let row = sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1"
        ))
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        let record = webhook_row(&row)?;
        tx.commit().await?;
        Ok(record)
    }

    async fn list_webhooks(&self, tenant: &Tenant) -> StoreResult<Vec<WebhookRecord>> {
        sqlx::query(&format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE member_id = $1 AND deleted_at IS NULL \
             ORDER BY created_at, id"
        ))
        .bind(tenant.member().to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(webhook_row)
        .collect()
    }

    async fn delete_webhook(&self, tenant: &Tenant, id: &str) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let now = millis(Utc::now());
        let deleted = sqlx::query(
            "UPDATE webhooks SET deleted_at = $1 \
             WHERE id = $2 AND member_id = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .bind(tenant.member().to_string())
        .execute(&mut *tx)
        .await?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE deliveries SET status = 'FAILED', last_error = 'the subscription was deleted', \
             lease_until = NULL WHERE target = $1 AND status = 'PENDING'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, tenant, AuditAction::WebhookDeleted, "webhook", id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn webhook_deliveries(
        &self,
        tenant: &Tenant,
        webhook: &str,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let owned = sqlx::query("SELECT 1 AS one FROM webhooks WHERE id = $1 AND member_id = $2")
            .bind(webhook)
            .bind(tenant.member().to_string())
            .fetch_optional(&self.pool)
            .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d \
             WHERE d.target = $1 AND d.member_id = $2 AND d.channel = 'webhook' \
             ORDER BY d.created_at DESC, d.aggregate_seq DESC LIMIT $3"
        ))
        .bind(webhook)
        .bind(tenant.member().to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery_row)
        .collect()
    }

    async fn redeliver(
        &self,
        tenant: &Tenant,
        webhook: &str,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<DeliveryRecord> {
        let mut tx = self.write().await?;
        let live = sqlx::query(
            "SELECT 1 AS one FROM webhooks WHERE id = $1 AND member_id = $2 AND deleted_at IS NULL",
        )
        .bind(webhook)
        .bind(tenant.member().to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if live.is_none() {
            return Err(StoreError::NotFound);
        }
        let record = reschedule(&mut tx, tenant, delivery, Some(webhook), now).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn email_deliveries(
        &self,
        tenant: &Tenant,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries d \
             WHERE d.member_id = $1 AND d.channel = 'email' AND ($2 = '' OR d.status = $2) \
             ORDER BY d.created_at DESC, d.aggregate_seq DESC LIMIT $3"
        ))
        .bind(tenant.member().to_string())
        .bind(status.map(|s| s.as_str()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(delivery_row)
        .collect()
    }

    async fn redeliver_email(
        &self,
        tenant: &Tenant,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<DeliveryRecord> {
        let mut tx = self.write().await?;
        let record = reschedule(&mut tx, tenant, delivery, None, now).await?;
        tx.commit().await?;
        Ok(record)
    }

    async fn fan_out_events(&self, now: DateTime<Utc>, limit: i64) -> StoreResult<usize> {
        let pending = sqlx::query(
            "SELECT id, member_id, event_type, aggregate, aggregate_seq, occurred_at, data FROM outbox_events \
             WHERE fanned_out_at IS NULL ORDER BY occurred_at, aggregate_seq LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut handled = 0;
        for event in &pending {
            let mut tx = self.write().await?;
            let id = event.text("id")?;
            let member = event.text("member_id")?;
            let claimed = sqlx::query(
                "UPDATE outbox_events SET fanned_out_at = $1 \
                 WHERE id = $2 AND member_id = $3 AND fanned_out_at IS NULL",
            )
            .bind(millis(now))
            .bind(&id)
            .bind(&member)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue; // another node took it
            }
            let event_type = event.text("event_type")?;
            // A subscription gets the events that occur from its creation on.
            let hooks = sqlx::query(
                "SELECT id, event_types FROM webhooks \
                 WHERE member_id = $1 AND deleted_at IS NULL AND created_at <= $2",
            )
            .bind(&member)
            .bind(event.int("occurred_at")?)
            .fetch_all(&mut *tx)
            .await?;
            let mut targets: Vec<(&str, String)> = Vec::new();
            for hook in hooks {
                if wants(hook.opt_text("event_types")?.as_deref(), &event_type) {
                    targets.push(("webhook", hook.text("id")?));
                }
            }
            let data: Value = serde_json::from_str(&event.text("data")?).unwrap_or(Value::Null);
            for address in email_recipients(&mut tx, &member, &event_type, &data).await? {
                targets.push(("email", address));
            }
            for (channel, target) in targets {
                sqlx::query(
                    "INSERT INTO deliveries (id, event_id, member_id, channel, target, aggregate, \
                     aggregate_seq, status, attempts, next_attempt_at, created_at, window_start) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING', 0, $8, $8, $8) \
                     ON CONFLICT (event_id, member_id, channel, target) DO NOTHING",
                )
                .bind(Uuid::now_v7().to_string())
                .bind(&id)
                .bind(&member)
                .bind(channel)
                .bind(target)
                .bind(event.text("aggregate")?)
                .bind(event.int("aggregate_seq")?)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            handled += 1;
        }
        Ok(handled)
    }

    async fn claim_deliveries(
        &self,
        node: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        emails: bool,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // The earliest unfinished delivery of its case for its target, and no earlier event
        // of the case still waiting to be fanned out.
        let due = sqlx::query(
            "SELECT d.id FROM deliveries d \
             WHERE (d.channel = 'webhook' OR ($3 = 1 AND d.channel = 'email')) \
               AND d.status = 'PENDING' AND d.next_attempt_at <= $1 \
               AND (d.lease_until IS NULL OR d.lease_until < $1) \
               AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.target = d.target \
                    AND e.aggregate = d.aggregate AND e.status = 'PENDING' \
                    AND e.aggregate_seq < d.aggregate_seq) \
               AND NOT EXISTS (SELECT 1 FROM outbox_events o WHERE o.aggregate = d.aggregate \
                    AND o.member_id = d.member_id AND o.fanned_out_at IS NULL \
                    AND o.aggregate_seq < d.aggregate_seq) \
             ORDER BY d.next_attempt_at, d.aggregate_seq LIMIT $2",
        )
        .bind(millis(now))
        .bind(limit)
        .bind(i64::from(emails))
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = Vec::new();
        // Fetched once, when a webhook's secret or an email's sealed content needs it.
        let mut key: Option<DataKey> = None;
        for row in due {
            let id = row.text("id")?;
            let leased = sqlx::query(
                "UPDATE deliveries SET lease_until = $1, leased_by = $2 \
                 WHERE id = $3 AND status = 'PENDING' AND (lease_until IS NULL OR lease_until < $4)",
            )
            .bind(millis(lease_until))
            .bind(node)
            .bind(&id)
            .bind(millis(now))
            .execute(&self.pool)
            .await?;
            if leased.rows_affected() == 0 {
                continue;
            }
            let row = sqlx::query(
                "SELECT d.id, d.event_id, d.aggregate, d.attempts, d.window_start, d.channel, \
                        d.target, d.payload, o.event_type, o.data, o.occurred_at, \
                        w.callback_url, w.secret, w.callback_auth \
                 FROM deliveries d \
                 JOIN outbox_events o ON o.id = d.event_id AND o.member_id = d.member_id \
                 LEFT JOIN webhooks w ON d.channel = 'webhook' AND w.id = d.target \
                 WHERE d.id = $1",
            )
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
            let email = row.text("channel")? == "email";
            let sealed_payload = row.opt_text("payload")?;
            if key.is_none() && (!email || sealed_payload.is_some()) {
                let mut conn = self.pool.acquire().await?;
                key = Some(webhook_key(&self.keyring, &mut conn).await?);
            }
            let open = |aad: String, sealed: &str| -> StoreResult<String> {
                let key = key
                    .as_ref()
                    .ok_or_else(|| StoreError::Corrupt("no key to open a sealed value".into()))?;
                key.open(&aad, sealed)
            };
            let target = if email {
                DeliveryTarget::Email {
                    address: row.text("target")?,
                }
            } else {
                let webhook = row.text("target")?;
                DeliveryTarget::Webhook {
                    callback_url: row.text("callback_url")?,
                    secret: open(format!("webhook/{webhook}/secret"), &row.text("secret")?)?,
                    callback_auth: row
                        .opt_text("callback_auth")?
                        .map(|auth| open(format!("webhook/{webhook}/auth"), &auth))
                        .transpose()?,
                }
            };
            let payload = sealed_payload
                .map(|sealed| open(format!("delivery/{id}/payload"), &sealed))
                .transpose()?;
            claimed.push(ClaimedDelivery {
                payload,
                id,
                event_id: row.text("event_id")?,
                event_type: row.text("event_type")?,
                aggregate: row.text("aggregate")?,
                data: row.text("data")?,
                occurred_at: row.time("occurred_at")?,
                attempts: row.int("attempts")?,
                created_at: row.time("window_start")?,
                target,
            });
        }
        Ok(claimed)
    }

    async fn prune_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let deliveries = sqlx::query(
            "DELETE FROM deliveries WHERE status IN ('DELIVERED', 'FAILED') \
             AND created_at < $1 AND window_start < $1",
        )
        .bind(millis(before))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let events = sqlx::query(
            "DELETE FROM outbox_events WHERE fanned_out_at IS NOT NULL AND occurred_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM deliveries d \
                 WHERE d.event_id = outbox_events.id AND d.member_id = outbox_events.member_id)",
        )
        .bind(millis(before))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(deliveries + events)
    }

    async fn finish_delivery(
        &self,
        id: &str,
        node: &str,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (status, code, error, next, delivered) = match outcome {
            DeliveryOutcome::Delivered { status_code } => (
                "DELIVERED",
                Some(*status_code),
                None,
                None,
                Some(millis(now)),
            ),
            DeliveryOutcome::Retry {
                status_code,
                error,
                next_attempt_at,
            } => (
                "PENDING",
                *status_code,
                Some(error.as_str()),
                Some(millis(*next_attempt_at)),
                None,
            ),
            DeliveryOutcome::Failed { status_code, error } => {
                ("FAILED", *status_code, Some(error.as_str()), None, None)
            }
        };
        let updated = sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = attempts + 1, last_status_code = $2, \
             last_error = $3, next_attempt_at = COALESCE($4, next_attempt_at), delivered_at = $5, \
             lease_until = NULL, leased_by = NULL \
             WHERE id = $6 AND leased_by = $7 AND status = 'PENDING'",
        )
        .bind(status)
        .bind(code)
        .bind(error)
        .bind(next)
        .bind(delivered)
        .bind(id)
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }
}

/// Who at `member` gets an email about an event: a new inbound request goes to the
/// notification contacts of the department it names, or else the member's admins and
/// managers, a response to the engineer who submitted the request, a
/// partner's note to this side's engineer on the case, and reminders and breaches to the
/// escalation contacts of the receiver's form. Nothing else is emailed.
async fn email_recipients(
    conn: &mut AnyConnection,
    member: &str,
    event_type: &str,
    data: &Value,
) -> StoreResult<Vec<String>> {
    let inbound = data["direction"] == "INBOUND";
    let token = data["token"].as_str().unwrap_or_default();
    let case = || {
        sqlx::query(
            "SELECT submitter_contact, receiver_engineer, document_id FROM collaboration_requests \
             WHERE token = $1",
        )
        .bind(token)
    };
    let contact_email = |raw: Option<String>| -> Option<String> {
        let contact: Value = serde_json::from_str(&raw?).ok()?;
        contact["email"].as_str().map(str::to_lowercase)
    };
    let mut addresses: Vec<String> = match event_type {
        "case.created" if inbound => {
            // The department's contacts when the request names a department that has
            // some; otherwise the member's admins and managers.
            let department = sqlx::query(
                "SELECT d.notification_emails FROM collaboration_requests c \
                 JOIN departments d ON d.id = c.receiver_department_id AND d.member_id = $2 \
                 WHERE c.token = $1",
            )
            .bind(token)
            .bind(member)
            .fetch_optional(&mut *conn)
            .await?;
            let mut to: Vec<String> = match department {
                Some(row) => row.json("notification_emails")?,
                None => Vec::new(),
            };
            if to.is_empty() {
                to = sqlx::query(
                    "SELECT email FROM users WHERE member_id = $1 AND disabled_at IS NULL \
                     AND role IN ('admin', 'manager') ORDER BY email",
                )
                .bind(member)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .filter_map(|row| row.text("email").ok())
                .collect();
            }
            to.extend(member_bcc(conn, member, "inbound_bcc").await?);
            to
        }
        "case.response_added" if !inbound => {
            let row = case().fetch_one(&mut *conn).await?;
            let mut to: Vec<String> = contact_email(row.opt_text("submitter_contact")?)
                .into_iter()
                .collect();
            to.extend(member_bcc(conn, member, "outbound_bcc").await?);
            to
        }
        "case.note_added" if data["authorCompanyId"] != member => {
            let row = case().fetch_one(&mut *conn).await?;
            let column = if inbound {
                "receiver_engineer"
            } else {
                "submitter_contact"
            };
            let mut to = Vec::new();
            if let Some(address) = contact_email(row.opt_text(column)?) {
                // Notes are the emails a person may turn off.
                let quiet = sqlx::query(
                    "SELECT 1 AS one FROM users WHERE member_id = $1 AND LOWER(email) = $2 \
                     AND note_emails = 0",
                )
                .bind(member)
                .bind(&address)
                .fetch_optional(&mut *conn)
                .await?;
                if quiet.is_none() {
                    to.push(address);
                }
            }
            to
        }
        "case.sla_reminder" | "case.sla_breached" if inbound => {
            let row = case().fetch_one(&mut *conn).await?;
            let form = sqlx::query("SELECT definition FROM process_forms WHERE document_id = $1")
                .bind(row.text("document_id")?)
                .fetch_optional(&mut *conn)
                .await?;
            let definition: Value = match form {
                Some(form) => {
                    serde_json::from_str(&form.text("definition")?).unwrap_or(Value::Null)
                }
                None => Value::Null,
            };
            definition["escalationContacts"]
                .as_array()
                .map(|contacts| {
                    contacts
                        .iter()
                        .filter_map(|c| c["email"].as_str().map(str::to_lowercase))
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    addresses.sort();
    addresses.dedup();
    Ok(addresses)
}

/// A member's copy address for inbound or outbound request emails, if it set one.
async fn member_bcc(
    conn: &mut AnyConnection,
    member: &str,
    column: &'static str,
) -> StoreResult<Option<String>> {
    let row = sqlx::query(&format!(
        "SELECT {column} AS bcc FROM members WHERE id = $1"
    ))
    .bind(member)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.opt_text("bcc")?.map(|a| a.to_lowercase()))
}
