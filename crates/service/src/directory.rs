//! The member's own directory: its profile, users, API clients and departments.

use casebridge_domain::member::{parse_name, parse_tag};
use casebridge_domain::validation::multi_line;
use casebridge_domain::{
    password, Action, ApiClientId, DepartmentId, EmailAddress, Role, UserId, ValidationErrors,
};
use casebridge_store::{
    ApiClient, Department, DepartmentFields, Member, NewApiClient, NewUser, Tenant, User,
};
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::{
    hash_password, random_secret, sha256_hex, CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX,
};
use crate::{Caller, ServiceError, ServiceResult, Services};

pub struct NewUserInput {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub password: SecretString,
}

pub struct NewApiClientInput {
    pub name: String,
    pub role: Role,
}

/// An API client just created, with its secret: shown once, never stored in clear.
pub struct CreatedApiClient {
    pub client: ApiClient,
    pub client_secret: SecretString,
}

pub struct DepartmentInput {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Who is emailed about new requests to the department (empty: admins and managers).
    pub notification_emails: Vec<String>,
}

const MAX_TAGS: usize = 20;
const MAX_NOTIFICATION_EMAILS: usize = 20;
const MAX_DESCRIPTION_CHARS: usize = 2000;

impl Services {
    /// The caller's member and, for a person, the user.
    pub async fn me(&self, caller: &Caller) -> ServiceResult<(Member, Option<User>)> {
        let member = self
            .store
            .member(caller.member())
            .await?
            .ok_or(ServiceError::NotFound)?;
        let user = match caller.tenant().user() {
            Some(id) => Some(self.store.get_user(caller.tenant(), id).await?),
            None => None,
        };
        Ok((member, user))
    }

    pub async fn list_users(&self, caller: &Caller) -> ServiceResult<Vec<User>> {
        let tenant = caller.may(Action::ManageUsers)?;
        Ok(self.store.list_users(tenant).await?)
    }

    pub async fn get_user(&self, caller: &Caller, id: UserId) -> ServiceResult<User> {
        let tenant = caller.may(Action::ManageUsers)?;
        Ok(self.store.get_user(tenant, id).await?)
    }

    pub async fn create_user(&self, caller: &Caller, input: NewUserInput) -> ServiceResult<User> {
        let tenant = *caller.may(Action::ManageUsers)?;
        self.add_user(&tenant, input).await
    }

    /// Validates and stores a user of the tenant's member; used by admins and the operator.
    pub(crate) async fn add_user(
        &self,
        tenant: &Tenant,
        input: NewUserInput,
    ) -> ServiceResult<User> {
        let member = self
            .store
            .member(tenant.member())
            .await?
            .ok_or(ServiceError::NotFound)?;
        let mut errors = ValidationErrors::default();
        let email = errors.check("email", EmailAddress::parse(&input.email));
        if let Some(email) = &email {
            if !member.domains.iter().any(|d| d == email.domain()) {
                errors.add(
                    "email",
                    format!(
                        "must be on one of the member's domains: {}",
                        member.domains.join(", ")
                    ),
                );
            }
            errors.check(
                "password",
                password::check(input.password.expose_secret(), email.as_str()),
            );
        }
        let first_name = errors.check("firstName", parse_name(&input.first_name));
        let last_name = errors.check("lastName", parse_name(&input.last_name));
        let (Some(email), Some(first_name), Some(last_name)) = (email, first_name, last_name)
        else {
            return Err(errors.into());
        };
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let password_hash = hash_password(input.password).await?;
        Ok(self
            .store
            .create_user(
                tenant,
                &NewUser {
                    email,
                    first_name,
                    last_name,
                    role: input.role,
                    password_hash,
                },
            )
            .await?)
    }

    /// Disables a user of the caller's member; their tokens stop working at once.
    pub async fn disable_user(&self, caller: &Caller, id: UserId) -> ServiceResult<User> {
        let tenant = caller.may(Action::ManageUsers)?;
        if tenant.user() == Some(id) {
            return Err(ServiceError::Conflict(
                "you cannot disable your own account; ask another admin".into(),
            ));
        }
        Ok(self.store.disable_user(tenant, id).await?)
    }

    /// Gives a user of the caller's member another role. An admin cannot change their own
    /// role, so a company is never left without the admin who could undo it.
    pub async fn change_user_role(
        &self,
        caller: &Caller,
        id: UserId,
        role: Role,
    ) -> ServiceResult<User> {
        let tenant = caller.may(Action::ManageUsers)?;
        if tenant.user() == Some(id) {
            return Err(ServiceError::Conflict(
                "you cannot change your own role; ask another admin".into(),
            ));
        }
        Ok(self.store.set_user_role(tenant, id, role).await?)
    }

    pub async fn list_api_clients(&self, caller: &Caller) -> ServiceResult<Vec<ApiClient>> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self.store.list_api_clients(tenant).await?)
    }

    pub async fn create_api_client(
        &self,
        caller: &Caller,
        input: NewApiClientInput,
    ) -> ServiceResult<CreatedApiClient> {
        let tenant = caller.may(Action::ManageApiClients)?;
        let name = parse_name(&input.name).map_err(|m| ValidationErrors::single("name", m))?;
        let client_id = random_secret(CLIENT_ID_PREFIX, 16);
        let client_secret = random_secret(CLIENT_SECRET_PREFIX, 32);
        let client = self
            .store
            .create_api_client(
                tenant,
                &NewApiClient {
                    name,
                    role: input.role,
                    client_id: client_id.expose_secret().to_owned(),
                    secret_hash: sha256_hex(client_secret.expose_secret()),
                },
            )
            .await?;
        Ok(CreatedApiClient {
            client,
            client_secret,
        })
    }

    pub async fn revoke_api_client(
        &self,
        caller: &Caller,
        id: ApiClientId,
    ) -> ServiceResult<ApiClient> {
        let tenant = caller.may(Action::ManageApiClients)?;
        Ok(self.store.revoke_api_client(tenant, id).await?)
    }

    /// Whether `department` exists and belongs to `member`.
    pub(crate) async fn department_belongs(
        &self,
        department: DepartmentId,
        member: casebridge_domain::MemberId,
    ) -> ServiceResult<bool> {
        Ok(self
            .store
            .department(department)
            .await?
            .is_some_and(|d| d.member_id == member))
    }

    pub async fn list_departments(&self, caller: &Caller) -> ServiceResult<Vec<Department>> {
        let tenant = caller.may(Action::ReadDirectory)?;
        Ok(self.store.list_departments(tenant).await?)
    }

    pub async fn create_department(
        &self,
        caller: &Caller,
        input: DepartmentInput,
    ) -> ServiceResult<Department> {
        let tenant = caller.may(Action::ManageDepartments)?;
        let fields = department_fields(input)?;
        Ok(self.store.create_department(tenant, &fields).await?)
    }

    pub async fn update_department(
        &self,
        caller: &Caller,
        id: DepartmentId,
        input: DepartmentInput,
    ) -> ServiceResult<Department> {
        let tenant = caller.may(Action::ManageDepartments)?;
        let fields = department_fields(input)?;
        Ok(self.store.update_department(tenant, id, &fields).await?)
    }
}

fn department_fields(input: DepartmentInput) -> Result<DepartmentFields, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let name = errors.check("name", parse_name(&input.name));
    let description = errors.check(
        "description",
        multi_line(&input.description, MAX_DESCRIPTION_CHARS),
    );
    if input.tags.len() > MAX_TAGS {
        errors.add("tags", format!("at most {MAX_TAGS} tags"));
    }
    let mut tags: Vec<String> = input
        .tags
        .iter()
        .enumerate()
        .filter_map(|(i, tag)| errors.check(format!("tags[{i}]"), parse_tag(tag)))
        .collect();
    tags.sort();
    tags.dedup();
    if input.notification_emails.len() > MAX_NOTIFICATION_EMAILS {
        errors.add(
            "notificationEmails",
            format!("at most {MAX_NOTIFICATION_EMAILS} addresses"),
        );
    }
    let mut notification_emails: Vec<String> = input
        .notification_emails
        .iter()
        .enumerate()
        .filter_map(|(i, email)| {
            errors.check(
                format!("notificationEmails[{i}]"),
                EmailAddress::parse(email).map(|e| e.as_str().to_lowercase()),
            )
        })
        .collect();
    notification_emails.sort();
    notification_emails.dedup();
    errors.finish(|| DepartmentFields {
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        tags,
        notification_emails,
    })
}
