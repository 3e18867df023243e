//! The customer's side of an authorization link: the page's facts, the decision, the
//! signed consent receipt, and withdrawal. The link's secret is the customer's only
//! credential; only its SHA-256 is stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use casebridge_domain::authorization::LinkState;
use casebridge_domain::case::CaseToken;
use casebridge_domain::consent::{self, ConsentFacts, Decision};
use casebridge_domain::Action;
use casebridge_store::{CustomerLinkRecord, LinkDecision, NewLink, NewNote};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{Caller, ServiceError, ServiceResult, Services};

/// The prefix of link secrets, so a leaked one is recognisable.
const LINK_PREFIX: &str = "cb_al_";

/// The platform's receipt-signing key (Ed25519); its public half is published as a JWK.
pub struct ReceiptSigner {
    key: SigningKey,
}

impl ReceiptSigner {
    pub fn from_bytes(secret: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&secret),
        }
    }

    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        Self::from_bytes(secret)
    }

    /// The key id: the first 16 hex digits of the public key's SHA-256.
    pub fn key_id(&self) -> String {
        hex::encode(&Sha256::digest(self.key.verifying_key().as_bytes())[..8])
    }

    /// The public key as a JSON Web Key (RFC 8037, OKP / Ed25519).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": self.key_id(),
            "x": URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
        })
    }

    /// A compact JWS (RFC 7515) of `payload`, signed with EdDSA.
    pub fn sign(&self, payload: &Value) -> String {
        let header = json!({"alg": "EdDSA", "kid": self.key_id(), "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// Where a link stands, as its page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPage {
    /// The customer can authorize or decline.
    Open,
    /// Never answered, and now too late.
    Expired,
    Authorized,
    Declined,
    /// Authorized once, then withdrawn (by the customer or the submitter).
    Revoked,
}

/// The customer's page: its state, and the exact text shown.
pub struct CustomerLinkView {
    pub record: CustomerLinkRecord,
    pub page: LinkPage,
    pub text: String,
}

/// A new link secret and its stored hash.
pub(crate) fn new_link(expires_at: DateTime<Utc>) -> (String, NewLink) {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let link = format!("{LINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = link_hash(&link);
    (
        link,
        NewLink {
            hash,
            expires_at,
            email: None,
        },
    )
}

fn link_hash(link: &str) -> String {
    hex::encode(Sha256::digest(link.as_bytes()))
}

/// Refuses obviously malformed links before touching the database.
fn checked_hash(link: &str) -> ServiceResult<String> {
    if !link.starts_with(LINK_PREFIX) || link.len() > 100 {
        return Err(ServiceError::NotFound);
    }
    Ok(link_hash(link))
}

fn facts(record: &CustomerLinkRecord) -> ConsentFacts<'_> {
    let a = &record.authorization;
    ConsentFacts {
        submitter: &record.submitter_name,
        submitter_contact_name: &record.submitter_contact.name,
        submitter_contact_email: record.submitter_contact.email.as_str(),
        receiver: &record.receiver_name,
        case_number: &record.internal_case_number,
        purpose: &a.purpose,
        categories: &a.data_categories,
        until: a.expires_at,
        customer_email: a.authorized_by_email.as_str(),
    }
}

impl Services {
    /// The page behind a link. Unknown links are not found, like any other object.
    pub async fn customer_link(&self, link: &str) -> ServiceResult<CustomerLinkView> {
        let record = self.store.customer_link(&checked_hash(link)?).await?;
        let a = &record.authorization;
        let page = match a.link {
            _ if a.revoked_at.is_some() && a.link == Some(LinkState::Authorized) => {
                LinkPage::Revoked
            }
            // Withdrawn by the submitter before the customer answered: nothing to decide.
            _ if a.revoked_at.is_some() => LinkPage::Expired,
            Some(LinkState::Authorized) => LinkPage::Authorized,
            Some(LinkState::Declined) => LinkPage::Declined,
            _ if record.expires_at <= self.now() => LinkPage::Expired,
            _ => LinkPage::Open,
        };
        let text = consent::consent_text(&facts(&record));
        Ok(CustomerLinkView { record, page, text })
    }

    /// The customer authorizes or declines. Authorizing opens the case to the receiver,
    /// starts its clock and signs a receipt; declining closes it unseen.
    pub async fn customer_decide(
        &self,
        link: &str,
        authorize: bool,
        approver_ip: Option<String>,
    ) -> ServiceResult<CustomerLinkView> {
        let view = self.customer_link(link).await?;
        if view.page != LinkPage::Open {
            return Err(ServiceError::Conflict(
                "this link has already been answered or is no longer valid".into(),
            ));
        }
        let now = self.now();
        let hash = consent::text_hash(&view.text);
        let record = &view.record;
        let (receipt, respond_by, note) = if authorize {
            let receipt_id = uuid::Uuid::now_v7().to_string();
            let payload = consent::consent_receipt(
                &facts(record),
                &Decision {
                    receipt_id: &receipt_id,
                    at: now,
                    case_token: record.token.as_str(),
                    shown_text_hash: &hash,
                    approver_ip: approver_ip.as_deref(),
                    public_key_jwk: self.signer.jwk(),
                    // The platform's address; the receipt's key is in `publicKey`.
                    policy_url: &self.cases.public_url,
                },
            );
            // The response window starts with the customer's authorization.
            let respond_by = now + (record.respond_by - record.created_at);
            let note = NewNote::system(
                "Customer authorized",
                "The customer authorized this collaboration; the request is now open to the partner.",
                now,
            );
            (Some(self.signer.sign(&payload)), Some(respond_by), note)
        } else {
            let note = NewNote::system(
                "Customer declined",
                "The customer declined to authorize this collaboration; the request was closed and never shown to the partner.",
                now,
            );
            (None, None, note)
        };
        let decision = LinkDecision {
            authorize,
            shown_text: view.text.clone(),
            shown_text_hash: hash,
            approver_ip,
            receipt,
            respond_by,
            note,
            at: now,
        };
        match self
            .store
            .decide_link(&checked_hash(link)?, &decision)
            .await
        {
            Err(casebridge_store::StoreError::Stale) => {
                return Err(ServiceError::Conflict(
                    "this link has already been answered or is no longer valid".into(),
                ))
            }
            other => other?,
        }
        self.customer_link(link).await
    }

    /// The customer withdraws an authorization given through the link.
    pub async fn customer_revoke(&self, link: &str) -> ServiceResult<CustomerLinkView> {
        let view = self.customer_link(link).await?;
        if view.page != LinkPage::Authorized {
            return Err(ServiceError::Conflict(
                "there is no authorization on this link to withdraw".into(),
            ));
        }
        let note = crate::cases::revocation_note(self.now());
        match self.store.revoke_by_link(&checked_hash(link)?, &note).await {
            Err(casebridge_store::StoreError::Stale) => {
                return Err(ServiceError::Conflict(
                    "the authorization is already withdrawn".into(),
                ))
            }
            other => other?,
        }
        self.customer_link(link).await
    }

    /// The signed receipt of the customer's authorization, for the submitter.
    pub async fn authorization_receipt(
        &self,
        caller: &Caller,
        token: &CaseToken,
    ) -> ServiceResult<String> {
        let tenant = caller.may(Action::WorkCases)?;
        self.store
            .authorization_receipt(tenant, token)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// The platform's public keys, for anyone verifying a receipt.
    pub fn receipt_keys(&self) -> Value {
        json!({"keys": [self.signer.jwk()]})
    }

    /// Where the customer's page for `link` lives.
    pub(crate) fn link_url(&self, link: &str) -> String {
        format!("{}/authorize/{link}", self.cases.public_url)
    }
}
