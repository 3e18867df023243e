//! A small, realistic world to try Casebridge in: three members with a user of every role,
//! the framework agreement accepted, two active partnerships and a proposal, and process
//! forms. Passwords are random on every seeding; nothing here is a default credential.

use casebridge_domain::form::{FieldDraft, FieldType, FormDraft, Priority, Section};
use casebridge_domain::partnership::{PartnershipStatus, PartnershipType, Terms};
use casebridge_domain::{DataCategory, Role};
use casebridge_store::{Actor, DepartmentFields, NewPartnership, Tenant};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::random_secret;
use crate::{NewUserInput, ServiceError, ServiceResult, Services};

/// One sign-in the demo created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoLogin {
    pub company: String,
    pub role: Role,
    pub email: String,
    pub password: String,
}

const AGREEMENT: &str = "Casebridge Framework Agreement (demo)\n\n\
1. Members exchange support case information only under an active partnership.\n\
2. Each exchange requires the customer's authorization for the data categories shared.\n\
3. Only the information needed to resolve the case is shared; personal data is minimised.\n\
4. Information received may not be shared onward.\n\
5. Customer personal data is deleted when the partnership's retention period ends.\n";

struct DemoMember {
    name: &'static str,
    domain: &'static str,
    people: [(&'static str, &'static str, Role); 4],
    department: (&'static str, &'static str, &'static [&'static str]),
}

const MEMBERS: [DemoMember; 3] = [
    DemoMember {
        name: "Northwind Storage",
        domain: "northwind.example",
        people: [
            ("Ana", "Silva", Role::Admin),
            ("Marcus", "Lee", Role::Manager),
            ("Priya", "Raman", Role::Engineer),
            ("Olga", "Berg", Role::Auditor),
        ],
        department: (
            "Storage Support",
            "Block and file storage arrays",
            &["storage", "san", "nas"],
        ),
    },
    DemoMember {
        name: "Contoso Cloud",
        domain: "contoso.example",
        people: [
            ("Tomás", "Herrera", Role::Admin),
            ("Grace", "Okafor", Role::Manager),
            ("Ken", "Watanabe", Role::Engineer),
            ("Ines", "Müller", Role::Auditor),
        ],
        department: (
            "Cloud Platform",
            "Managed Kubernetes and virtual machines",
            &["cloud", "kubernetes"],
        ),
    },
    DemoMember {
        name: "Fabrikam Networks",
        domain: "fabrikam.example",
        people: [
            ("Sam", "Novak", Role::Admin),
            ("Lena", "Fischer", Role::Manager),
            ("Omar", "Haddad", Role::Engineer),
            ("Yuki", "Sato", Role::Auditor),
        ],
        department: (
            "Network Support",
            "Firewalls, switches and SD-WAN",
            &["network", "firewall"],
        ),
    },
];

impl Services {
    /// Seeds the demo world if the database holds no member yet. Returns the sign-ins it
    /// created, or `None` when the database was not empty.
    pub async fn seed_demo(&self) -> ServiceResult<Option<Vec<DemoLogin>>> {
        if !self.store.is_empty().await? {
            return Ok(None);
        }
        let agreement = self
            .operator_publish_agreement("Casebridge Framework Agreement", AGREEMENT)
            .await?;
        let mut logins = Vec::new();
        let mut members = Vec::new();
        for demo in &MEMBERS {
            let member = self
                .operator_create_member(demo.name, &[demo.domain.to_owned()])
                .await?;
            let mut admin = None;
            for (first, last, role) in demo.people {
                let email = format!("{}@{}", first.to_lowercase().replace('á', "a"), demo.domain);
                let password = random_secret("", 15);
                let user = self
                    .operator_create_user(
                        member.id,
                        NewUserInput {
                            email: email.clone(),
                            first_name: first.into(),
                            last_name: last.into(),
                            role,
                            password: SecretString::from(password.expose_secret().to_owned()),
                        },
                    )
                    .await?;
                if role == Role::Admin {
                    admin = Some(user.id);
                }
                logins.push(DemoLogin {
                    company: demo.name.into(),
                    role,
                    email,
                    password: password.expose_secret().to_owned(),
                });
            }
            let admin =
                admin.ok_or_else(|| ServiceError::Internal("demo member without admin".into()))?;
            let tenant = Tenant::new(member.id, Actor::User(admin));
            self.store.accept_agreement(&tenant, &agreement).await?;
            let (name, description, tags) = demo.department;
            self.store
                .create_department(
                    &tenant,
                    &DepartmentFields {
                        name: name.into(),
                        description: description.into(),
                        tags: tags.iter().map(|t| t.to_string()).collect(),
                    },
                )
                .await?;
            let form = demo_form(demo).validate()?;
            self.store.publish_form(&tenant, None, &form).await?;
            members.push(tenant);
        }
        self.demo_partnership(&members[0], &members[1], true)
            .await?;
        self.demo_partnership(&members[1], &members[2], true)
            .await?;
        self.demo_partnership(&members[2], &members[0], false)
            .await?;
        Ok(Some(logins))
    }

    async fn demo_partnership(
        &self,
        proposer: &Tenant,
        partner: &Tenant,
        accept: bool,
    ) -> ServiceResult<()> {
        let terms = Terms::validate(
            vec![
                DataCategory::Contact,
                DataCategory::Hostnames,
                DataCategory::NetworkIdentifiers,
                DataCategory::Logs,
            ],
            90,
            false,
            None,
            Utc::now(),
        )?;
        let record = self
            .store
            .create_partnership(
                proposer,
                &NewPartnership {
                    proposer_department: None,
                    partner_member: partner.member(),
                    partner_department: None,
                    kind: PartnershipType::Collaborative,
                },
                &terms,
            )
            .await?;
        if accept {
            self.store
                .transition_partnership(
                    partner,
                    record.id,
                    PartnershipStatus::Proposed,
                    PartnershipStatus::Active,
                )
                .await?;
        }
        Ok(())
    }
}

fn demo_form(demo: &DemoMember) -> FormDraft {
    let field = |label: &str, section, field_type, required, options: &[&str], order| FieldDraft {
        label: label.into(),
        section,
        field_type,
        required,
        options: options.iter().map(|o| o.to_string()).collect(),
        display_order: order,
    };
    FormDraft {
        admin_note: format!(
            "{} accepts collaboration requests from partners around the clock.",
            demo.name
        ),
        escalation_instructions:
            "If a HIGH request is unanswered after its target, call the duty manager.".into(),
        escalation_contacts: vec![("Duty Manager".into(), format!("duty@{}", demo.domain))],
        priorities: vec![
            (Priority::Low, 72, "Questions and non-urgent issues".into()),
            (Priority::Medium, 24, "Degraded service".into()),
            (Priority::High, 4, "Production down".into()),
        ],
        custom_fields: vec![
            field(
                "Customer contact email",
                Section::ContactSection,
                FieldType::Email,
                true,
                &[],
                1,
            ),
            field(
                "Customer contact phone",
                Section::ContactSection,
                FieldType::Phone,
                false,
                &[],
                2,
            ),
            field(
                "Customer company",
                Section::CommonCustomerSection,
                FieldType::String,
                true,
                &[],
                1,
            ),
            field(
                "Customer contract number",
                Section::CommonCustomerSection,
                FieldType::String,
                false,
                &[],
                2,
            ),
            field(
                "Product version",
                Section::ProblemSection,
                FieldType::String,
                true,
                &[],
                1,
            ),
            field(
                "Environment",
                Section::ProblemSection,
                FieldType::Select,
                true,
                &["Production", "Staging", "Test"],
                2,
            ),
            field(
                "Affected nodes",
                Section::ProblemSection,
                FieldType::Integer,
                false,
                &[],
                3,
            ),
            field(
                "Reproducible",
                Section::ProblemSection,
                FieldType::Boolean,
                false,
                &[],
                4,
            ),
        ],
    }
}
