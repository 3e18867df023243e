//! What the platform operator does from the command line: onboard members and their first
//! users, publish the framework agreement, verify the audit trail.

use casebridge_domain::agreement::AgreementText;
use casebridge_domain::audit::{verify_chain, ChainBreak};
use casebridge_domain::member::{parse_name, MemberDomain};
use casebridge_domain::{MemberId, ValidationErrors};
use casebridge_store::{operator_tenant, Agreement, Member, User};

use crate::{NewUserInput, ServiceResult, Services};

/// The outcome of verifying the audit chain.
#[derive(Debug)]
pub enum AuditVerification {
    Intact { events: i64 },
    Broken(ChainBreak),
}

impl Services {
    pub async fn operator_create_member(
        &self,
        name: &str,
        domains: &[String],
    ) -> ServiceResult<Member> {
        let mut errors = ValidationErrors::default();
        let name = errors.check("name", parse_name(name));
        if domains.is_empty() {
            errors.add("domain", "name at least one email domain");
        }
        let domains: Vec<MemberDomain> = domains
            .iter()
            .filter_map(|d| errors.check("domain", MemberDomain::parse(d)))
            .collect();
        let Some(name) = name.filter(|_| errors.is_empty()) else {
            return Err(errors.into());
        };
        Ok(self.store.create_member(&name, &domains).await?)
    }

    pub async fn operator_create_user(
        &self,
        member: MemberId,
        input: NewUserInput,
    ) -> ServiceResult<User> {
        self.add_user(&operator_tenant(member), input).await
    }

    pub async fn operator_publish_agreement(
        &self,
        title: &str,
        text: &str,
    ) -> ServiceResult<Agreement> {
        let text = AgreementText::parse(title, text)?;
        Ok(self.store.publish_agreement(&text).await?)
    }

    /// Recomputes the whole audit chain and compares it with the recorded head.
    pub async fn verify_audit_trail(&self) -> ServiceResult<AuditVerification> {
        let (events, (head_seq, head_hash)) = self.store.audit_chain().await?;
        Ok(match verify_chain(events, Some((head_seq, &head_hash))) {
            Ok(events) => AuditVerification::Intact { events },
            Err(chain_break) => AuditVerification::Broken(chain_break),
        })
    }
}
