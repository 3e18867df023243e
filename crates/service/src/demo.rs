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
use casebridge_domain::authorization::{AuthorizationDraft, AuthorizationMethod};
use casebridge_domain::case::{ResponseType, Visibility};

use crate::{
    Caller, CaseView, ContactInput, NewCaseInput, NewUserInput, NoteInput, ServiceError,
    ServiceResult, Services, StepInput,
};

/// One sign-in the demo created.
/// What seeding the demo made: the sign-ins, and a customer authorization page to try.
pub struct DemoWorld {
    pub logins: Vec<DemoLogin>,
    /// The page a customer would get for the demo's request waiting on authorization.
    pub customer_link: String,
}

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
    pub async fn seed_demo(&self) -> ServiceResult<Option<DemoWorld>> {
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
                        notification_emails: vec![],
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
        let customer_link = self.demo_cases(&members).await?;
        Ok(Some(DemoWorld {
            logins,
            customer_link,
        }))
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
                self.now(),
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

struct DemoCase {
    receiver: casebridge_domain::MemberId,
    number: &'static str,
    priority: Priority,
    summary: &'static str,
    description: &'static str,
    /// Ask the customer through a link instead of recording an authorization given by email.
    customer_link: bool,
}

/// The demo's cases: one waiting for Contoso, one Contoso accepted and is working on with
/// Northwind, one where Fabrikam asked Contoso for more information, and one waiting for
/// the customer's authorization by link.
impl Services {
    /// Returns the customer page of the request that waits for its customer.
    async fn demo_cases(&self, admins: &[Tenant]) -> ServiceResult<String> {
        let engineer = |i: usize| async move {
            let tenant = admins[i];
            let users = self.store.list_users(&tenant).await?;
            let user = users
                .into_iter()
                .find(|u| u.role == Role::Engineer)
                .ok_or_else(|| ServiceError::Internal("demo member without engineer".into()))?;
            Ok::<_, ServiceError>((
                Caller::new(
                    Tenant::new(tenant.member(), Actor::User(user.id)),
                    Role::Engineer,
                    String::new(),
                ),
                user,
            ))
        };
        let (northwind, priya) = engineer(0).await?;
        let (contoso, ken) = engineer(1).await?;
        self.demo_case(&northwind, &priya, DemoCase {
                receiver: admins[1].member(),
                number: "NW-20417",
                priority: Priority::High,
                summary: "Storage latency spikes on Kubernetes worker nodes",
                // The address is outside what the customer authorized: Contoso sees a
                // pseudonym; the host name and the contact are inside and cross.
                description: "Since Tuesday, volumes mounted on the customer's managed Kubernetes cluster show write latency above 800 ms every few minutes, worst on k8s-worker-07.prod.tailspin-toys.com (10.40.12.7). Array-side metrics are normal; the spikes line up with node autoscaling events. On-site contact: dana.whitfield@tailspin-toys.com.",
                customer_link: false,
            })
            .await?;
        let backup = self
            .demo_case(&northwind, &priya, DemoCase {
                receiver: admins[1].member(),
                number: "NW-20388",
                priority: Priority::Medium,
                summary: "Nightly backup job fails after the cloud platform upgrade",
                description: "The snapshot export to the customer's object storage fails with HTTP 403 since the platform upgrade on the 14th. Credentials were rotated and verified.",
                customer_link: false,
            })
            .await?;
        let ken_contact = ContactInput {
            name: format!("{} {}", ken.first_name, ken.last_name),
            email: ken.email.clone(),
            phone: None,
        };
        self.respond(&contoso, &backup.record.token, ResponseType::Approval, StepInput {
            engineer: Some(ken_contact),
            case_number: Some("CC-88120".into()),
            text: "We see the 403s in the storage gateway logs and are checking the new bucket policy.".into(),
        })
        .await?;
        self.add_note(&contoso, &backup.record.token, NoteInput {
            summary: "Bucket policy changed in the upgrade".into(),
            description: "The upgrade tightened the default bucket policy. Can you confirm the export uses the path-style endpoint?".into(),
            visibility: Visibility::Shared,
        })
        .await?;
        self.add_note(
            &contoso,
            &backup.record.token,
            NoteInput {
                summary: "Known issue PLAT-5521".into(),
                description: "Same root cause as PLAT-5521; the fix ships next week.".into(),
                visibility: Visibility::Internal,
            },
        )
        .await?;
        let (fabrikam, omar) = engineer(2).await?;
        let vpn = self
            .demo_case(&contoso, &ken, DemoCase {
                receiver: admins[2].member(),
                number: "CC-88204",
                priority: Priority::Low,
                summary: "Site-to-site VPN tunnel drops every four hours",
                description: "The tunnel between the customer's VPC and their branch firewall renegotiates every four hours and drops traffic for about 30 seconds.",
                customer_link: false,
            })
            .await?;
        self.respond(&fabrikam, &vpn.record.token, ResponseType::InformationRequest, StepInput {
            engineer: Some(ContactInput {
                name: format!("{} {}", omar.first_name, omar.last_name),
                email: omar.email.clone(),
                phone: None,
            }),
            case_number: None,
            text: "Please send the IKE lifetime settings on the cloud side and the firewall's tunnel log around one drop.".into(),
        })
        .await?;
        // A request that waits, unseen by Contoso, for its customer's answer on a link.
        let waiting = self
            .demo_case(&northwind, &priya, DemoCase {
                receiver: admins[1].member(),
                number: "NW-20431",
                priority: Priority::Medium,
                summary: "Replication pauses during controller firmware upgrades",
                description: "Asynchronous replication to the customer's DR site pauses for up to ten minutes while a controller firmware upgrade fails over.",
                customer_link: true,
            })
            .await?;
        waiting
            .authorization_url
            .ok_or_else(|| ServiceError::Internal("a customer link case without a link".into()))
    }

    async fn demo_case(
        &self,
        caller: &Caller,
        engineer: &casebridge_store::User,
        case: DemoCase,
    ) -> ServiceResult<CaseView> {
        let DemoCase {
            receiver,
            number,
            priority,
            summary,
            description,
            customer_link,
        } = case;
        let document_id = self
            .store
            .current_form_id(receiver, None)
            .await?
            .ok_or_else(|| ServiceError::Internal("demo member without form".into()))?;
        let form = self
            .store
            .form_version(document_id)
            .await?
            .ok_or_else(|| ServiceError::Internal("demo form missing".into()))?;
        let value = |label: &str, value: &str| {
            form.definition
                .custom_fields
                .iter()
                .find(|f| f.label == label)
                .map(|f| (f.field_id.to_string(), value.to_owned()))
        };
        let custom_fields = [
            value("Customer contact email", "it-ops@tailspin.example"),
            value("Customer company", "Tailspin Toys"),
            value("Product version", "7.4.2"),
            value("Environment", "Production"),
            value("Affected nodes", "12"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let now = self.now();
        self.create_case(
            caller,
            NewCaseInput {
                document_id,
                internal_case_number: number.into(),
                problem_summary: summary.into(),
                problem_description: description.into(),
                priority,
                custom_fields,
                submitter_contact: ContactInput {
                    name: format!("{} {}", engineer.first_name, engineer.last_name),
                    email: engineer.email.clone(),
                    phone: Some("+1 555 0142".into()),
                },
                receiver_internal_case_number: None,
                test_submission: false,
                customer_authorization: Some(AuthorizationDraft {
                    method: if customer_link {
                        AuthorizationMethod::CustomerLink
                    } else {
                        AuthorizationMethod::Email
                    },
                    authorized_by_name: "Dana Whitfield".into(),
                    authorized_by_email: "dana.whitfield@tailspin.example".into(),
                    authorized_at: (!customer_link).then(|| now - chrono::Duration::hours(2)),
                    purpose: "Joint troubleshooting of the reported problem".into(),
                    data_categories: vec![
                        DataCategory::Contact,
                        DataCategory::Logs,
                        DataCategory::Hostnames,
                    ],
                    expires_at: Some(now + chrono::Duration::days(60)),
                    evidence: None,
                }),
            },
        )
        .await
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
