//! What the customer is asked, in plain words, and the receipt of their answer.
//!
//! [`consent_text`] is the exact text the authorization page shows; its SHA-256 goes into
//! the receipt, so what the customer agreed to can be proven later. [`consent_receipt`]
//! follows the Kantara Initiative Consent Receipt Specification v1.1 (the consent record
//! ISO/IEC 27560 builds on), with Casebridge's evidence under the `casebridge` extension.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::DataCategory;

/// Everything the customer is told.
pub struct ConsentFacts<'a> {
    /// The company that holds the customer's case and asks.
    pub submitter: &'a str,
    pub submitter_contact_name: &'a str,
    pub submitter_contact_email: &'a str,
    /// The company that would see the data.
    pub receiver: &'a str,
    /// The submitter's own case number, which the customer knows.
    pub case_number: &'a str,
    pub purpose: &'a str,
    pub categories: &'a BTreeSet<DataCategory>,
    pub until: Option<DateTime<Utc>>,
    pub customer_email: &'a str,
}

/// A data category as a customer understands it.
pub fn in_plain_words(category: DataCategory) -> &'static str {
    match category {
        DataCategory::Contact => "names, email addresses and phone numbers of people",
        DataCategory::NetworkIdentifiers => "IP and network hardware addresses",
        DataCategory::Hostnames => "names of your computers, servers and domains",
        DataCategory::Credentials => {
            "passwords, keys and access tokens (each one only when released on purpose)"
        }
        DataCategory::Logs => "log excerpts and diagnostic output",
        DataCategory::AccountIdentifiers => "user names, customer and account numbers",
        DataCategory::Financial => "payment card and bank account numbers",
        DataCategory::GovernmentId => "national identity numbers",
    }
}

/// The text shown to the customer, paragraph by paragraph (blank line between).
pub fn consent_text(facts: &ConsentFacts<'_>) -> String {
    let until = match facts.until {
        Some(at) => format!("until {} (UTC)", at.format("%-d %B %Y, %H:%M")),
        None => "until the case is closed".to_owned(),
    };
    let categories: Vec<String> = facts
        .categories
        .iter()
        .map(|c| format!("- {}", in_plain_words(*c)))
        .collect();
    format!(
        "{submitter} asks for your permission to share information about your support case \
         {case} with {receiver}, so that both can work on it together.\n\n\
         Purpose: {purpose}\n\n\
         {receiver} may see these kinds of data about you and your systems:\n{categories}\n\n\
         Anything else is replaced by a placeholder before {receiver} sees it. This \
         permission lasts {until}. You can withdraw it at any time on this page; from then on \
         nothing more is shared and {receiver} no longer sees your data.\n\n\
         This request was sent to {email}. Questions: {contact} <{contact_email}> at \
         {submitter}.",
        submitter = facts.submitter,
        case = facts.case_number,
        receiver = facts.receiver,
        purpose = facts.purpose,
        categories = categories.join("\n"),
        email = facts.customer_email,
        contact = facts.submitter_contact_name,
        contact_email = facts.submitter_contact_email,
    )
}

/// Hex SHA-256 of the shown text.
pub fn text_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Evidence of one decision, for the receipt.
pub struct Decision<'a> {
    pub receipt_id: &'a str,
    pub at: DateTime<Utc>,
    pub case_token: &'a str,
    pub shown_text_hash: &'a str,
    pub approver_ip: Option<&'a str>,
    pub public_key_jwk: Value,
    pub policy_url: &'a str,
}

/// A Kantara Consent Receipt v1.1 for an authorization given through the link.
pub fn consent_receipt(facts: &ConsentFacts<'_>, decision: &Decision<'_>) -> Value {
    let categories: Vec<&str> = facts.categories.iter().map(|c| c.as_str()).collect();
    json!({
        "version": "KI-CR-v1.1.0",
        "jurisdiction": "",
        "consentTimestamp": decision.at.timestamp(),
        "collectionMethod": "Casebridge customer authorization link",
        "consentReceiptID": decision.receipt_id,
        "publicKey": decision.public_key_jwk,
        "language": "en",
        "piiPrincipalId": facts.customer_email,
        "piiControllers": [{
            "piiController": facts.submitter,
            "contact": facts.submitter_contact_name,
            "email": facts.submitter_contact_email,
            "address": "",
            "phone": ""
        }],
        "policyUrl": decision.policy_url,
        "services": [{
            "service": format!("Multi-vendor support case {}", facts.case_number),
            "purposes": [{
                "purpose": facts.purpose,
                "purposeCategory": ["Customer support"],
                "consentType": "EXPLICIT",
                "piiCategory": categories,
                "primaryPurpose": true,
                "termination": facts.until.map_or_else(
                    || "when the case is closed or the consent withdrawn".to_owned(),
                    |at| at.to_rfc3339_opts(SecondsFormat::Secs, true),
                ),
                "thirdPartyDisclosure": true,
                "thirdPartyName": facts.receiver
            }]
        }],
        "sensitive": false,
        "spiCat": [],
        "casebridge": {
            "caseToken": decision.case_token,
            "decision": "AUTHORIZED",
            "shownTextSha256": decision.shown_text_hash,
            "approverIp": decision.approver_ip,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(categories: &BTreeSet<DataCategory>) -> ConsentFacts<'_> {
        ConsentFacts {
            submitter: "Acme",
            submitter_contact_name: "Priya Raman",
            submitter_contact_email: "priya@acme.example",
            receiver: "Globex",
            case_number: "ACME-7",
            purpose: "Resolve the replication failure",
            categories,
            until: None,
            customer_email: "jane@customer.example",
        }
    }

    #[test]
    fn the_text_names_who_asks_who_sees_what_and_for_how_long() {
        let categories = BTreeSet::from([DataCategory::Hostnames, DataCategory::Contact]);
        let text = consent_text(&facts(&categories));
        for expected in [
            "Acme asks",
            "with Globex",
            "ACME-7",
            "Resolve the replication failure",
            "names of your computers",
            "email addresses",
            "until the case is closed",
            "withdraw it at any time",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        assert!(!text.contains("IP and network"));
        assert_eq!(text_hash(&text).len(), 64);
    }

    #[test]
    fn the_receipt_has_the_kantara_fields() {
        let categories = BTreeSet::from([DataCategory::Hostnames]);
        let receipt = consent_receipt(
            &facts(&categories),
            &Decision {
                receipt_id: "r-1",
                at: Utc::now(),
                case_token: "cr_x",
                shown_text_hash: "ab",
                approver_ip: Some("192.0.2.7"),
                public_key_jwk: json!({"kty": "OKP"}),
                policy_url: "https://casebridge.example/policy",
            },
        );
        for field in [
            "version",
            "jurisdiction",
            "consentTimestamp",
            "collectionMethod",
            "consentReceiptID",
            "language",
            "piiPrincipalId",
            "piiControllers",
            "policyUrl",
            "services",
            "sensitive",
            "spiCat",
        ] {
            assert!(receipt.get(field).is_some(), "{field}");
        }
        assert_eq!(receipt["version"], "KI-CR-v1.1.0");
        assert_eq!(
            receipt["services"][0]["purposes"][0]["piiCategory"],
            json!(["HOSTNAMES"])
        );
        assert_eq!(receipt["casebridge"]["approverIp"], "192.0.2.7");
    }
}
