//! Background work of `casebridge serve`: the outbox dispatcher.
//!
//! Every node runs one. Each loop it fans new outbox events out into deliveries, leases
//! the due ones (a conditional update: safe with several nodes on one database), and sends
//! each as a signed CloudEvent. A delivery waits for the earlier ones of its case to the
//! same target; failures retry with exponential backoff and jitter until the retry
//! window closes, then the delivery is marked failed (an admin can send it again). A node
//! that dies mid-delivery loses its lease, and another node sends the same event id again:
//! at least once, never lost.

mod email;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use casebridge_service::store::{ClaimedDelivery, DeliveryOutcome, DeliveryTarget, Store};
use casebridge_service::webhooks::WebhookPolicy;
use chrono::Utc;
use tokio::sync::{watch, Semaphore};

pub use email::{render as render_email, Email, MailSettings, Mailer};
pub use webhook::{sign, signature_header, WebhookSender};

/// How the dispatcher paces itself.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// This node's name in leases.
    pub node: String,
    /// How long a node holds a delivery before another may take it over.
    pub lease: Duration,
    /// Deliveries in flight at once on this node.
    pub concurrency: usize,
    /// The first retry waits about this long; each next one twice as long…
    pub base_backoff: Duration,
    /// …up to this.
    pub max_backoff: Duration,
    /// Retries stop this long after the first attempt (or a redelivery).
    pub retry_window: Duration,
    /// A callback that has not answered in this time has failed this attempt.
    pub request_timeout: Duration,
    /// At most this much of a response is read.
    pub max_response_bytes: usize,
    /// The pause when there is nothing to do.
    pub idle_poll: Duration,
    /// The CloudEvents `source`: the server's public URL.
    pub source: String,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            node: format!("node-{}", std::process::id()),
            lease: Duration::from_secs(60),
            concurrency: 16,
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
            retry_window: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(10),
            max_response_bytes: 64 * 1024,
            idle_poll: Duration::from_millis(500),
            source: "http://127.0.0.1:8080".into(),
        }
    }
}

/// The delay before retry number `attempt` (1-based): exponential, capped, with "equal
/// jitter" (half fixed, half random) so that many failing deliveries do not retry in step.
pub fn backoff(settings: &DispatchSettings, attempt: u32) -> Duration {
    let exponential = settings
        .base_backoff
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
    let capped = exponential.min(settings.max_backoff);
    let half = capped / 2;
    half + half.mul_f64(rand::random::<f64>())
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    sender: WebhookSender,
    /// Without a mail server, emails wait in the outbox (listed as pending), never dropped.
    mailer: Option<Mailer>,
    settings: DispatchSettings,
}

impl Dispatcher {
    pub fn new(store: Arc<dyn Store>, policy: WebhookPolicy, settings: DispatchSettings) -> Self {
        let sender = WebhookSender::new(policy, &settings);
        Self {
            store,
            sender,
            mailer: None,
            settings,
        }
    }

    /// Sends emails through `mailer` too.
    pub fn with_mailer(mut self, mailer: Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Runs until `shutdown` turns true or its sender is dropped; deliveries in flight
    /// finish first.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        loop {
            // A dropped sender is a shutdown too (and would otherwise make `changed`
            // return at once, spinning this loop).
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                break;
            }
            let busy = match self.step(&slots).await {
                Ok(busy) => busy,
                Err(error) => {
                    tracing::warn!(%error, "outbox dispatch failed; retrying");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.settings.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        // Wait for the deliveries in flight.
        let _ = slots.acquire_many(self.settings.concurrency as u32).await;
    }

    /// One round: fan out, then start as many due deliveries as there are free slots.
    /// Returns whether it found work.
    async fn step(self: &Arc<Self>, slots: &Arc<Semaphore>) -> Result<bool, String> {
        let now = Utc::now();
        let fanned = self
            .store
            .fan_out_events(now, 200)
            .await
            .map_err(|e| e.to_string())?;
        let free = slots.available_permits();
        if free == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(true);
        }
        let lease = chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
        let claimed = self
            .store
            .claim_deliveries(
                &self.settings.node,
                now,
                now + lease,
                free as i64,
                self.mailer.is_some(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let found = fanned > 0 || !claimed.is_empty();
        for delivery in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let this = self.clone();
            tokio::spawn(async move {
                this.deliver(delivery).await;
                drop(permit);
            });
        }
        Ok(found)
    }

    /// Sends one delivery and records how it went.
    async fn deliver(&self, delivery: ClaimedDelivery) {
        let attempt = match (&delivery.target, &self.mailer) {
            (
                DeliveryTarget::Webhook {
                    callback_url,
                    secret,
                    callback_auth,
                },
                _,
            ) => {
                self.sender
                    .send(&delivery, callback_url, secret, callback_auth.as_deref())
                    .await
            }
            (DeliveryTarget::Email { address }, Some(mailer)) => {
                mailer.send(&delivery, address).await.map(|()| 250)
            }
            (DeliveryTarget::Email { .. }, None) => return,
        };
        let now = Utc::now();
        let attempts = delivery.attempts + 1;
        let outcome = match attempt {
            Ok(status_code) => DeliveryOutcome::Delivered { status_code },
            Err(failure) if failure.permanent => DeliveryOutcome::Failed {
                status_code: failure.status_code,
                error: failure.error,
            },
            Err(failure) => {
                let wait = backoff(&self.settings, attempts as u32);
                let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                let window_end = delivery.created_at
                    + chrono::Duration::from_std(self.settings.retry_window).unwrap_or_default();
                if next > window_end {
                    DeliveryOutcome::Failed {
                        status_code: failure.status_code,
                        error: format!("{} (gave up after {attempts} attempts)", failure.error),
                    }
                } else {
                    DeliveryOutcome::Retry {
                        status_code: failure.status_code,
                        error: failure.error,
                        next_attempt_at: next,
                    }
                }
            }
        };
        match self
            .store
            .finish_delivery(&delivery.id, &self.settings.node, &outcome, now)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                delivery = %delivery.id,
                "a delivery's lease ran out before it finished; another node sends it again"
            ),
            Err(error) => {
                tracing::warn!(%error, delivery = %delivery.id, "recording a delivery failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let settings = DispatchSettings {
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
            ..DispatchSettings::default()
        };
        for (attempt, full) in [(1, 10), (2, 20), (3, 40), (9, 2560), (10, 3600), (40, 3600)] {
            for _ in 0..50 {
                let wait = backoff(&settings, attempt);
                let full = Duration::from_secs(full);
                assert!(
                    wait >= full / 2 && wait <= full,
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        // Jitter: retries of many deliveries do not fall in step.
        let waits: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff(&settings, 5)).collect();
        assert!(waits.len() > 10);
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_body_and_of_the_timestamped_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            signature_header("Jefe", 1_700_000_000, b"{}"),
            format!("t=1700000000,v1={}", sign("Jefe", b"1700000000.{}"))
        );
    }
}
