//! Sign-in for people (password → bearer token) and integrations (OAuth2 client
//! credentials → bearer token), and checking a bearer token on each request.

use casebridge_domain::audit::AuditAction;
use casebridge_domain::EmailAddress;
use casebridge_store::{Actor, NewToken, Tenant};
use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::{
    constant_time_eq, random_secret, sha256_hex, verify_password, ACCESS_TOKEN_PREFIX,
};
use crate::{Caller, ServiceError, ServiceResult, Services};

/// A freshly issued bearer token; the only time its value exists outside the caller.
#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: SecretString,
    pub expires_in: Duration,
}

/// RFC 6749 §5.2 error codes for the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientCredentialsError {
    #[error("invalid_client")]
    InvalidClient,
    #[error("server_error")]
    ServerError,
}

impl Services {
    /// Exchanges a username (email) and password for a bearer token.
    pub async fn login(
        &self,
        username: &str,
        password: SecretString,
    ) -> ServiceResult<IssuedToken> {
        let login = match EmailAddress::parse(username) {
            Ok(email) => self.store.find_login(&email.login_key()).await?,
            Err(_) => None,
        };
        let stored_hash = login.as_ref().map(|l| l.password_hash.clone());
        let password_ok = verify_password(password, stored_hash).await;
        let Some(login) = login else {
            return Err(ServiceError::InvalidCredentials);
        };
        if !password_ok {
            self.store
                .record_login_failure(login.member_id, login.user_id)
                .await?;
            return Err(ServiceError::InvalidCredentials);
        }
        if login.disabled {
            return Err(ServiceError::AccountDisabled);
        }
        let tenant = Tenant::new(login.member_id, Actor::User(login.user_id));
        self.issue(
            &tenant,
            self.auth.user_token_ttl,
            AuditAction::LoginSucceeded,
        )
        .await
    }

    /// Exchanges an API client's id and secret for a bearer token.
    pub async fn client_credentials(
        &self,
        client_id: &str,
        client_secret: SecretString,
    ) -> Result<IssuedToken, ClientCredentialsError> {
        let found = self
            .store
            .find_api_client_credentials(client_id)
            .await
            .map_err(|_| ClientCredentialsError::ServerError)?;
        let presented = sha256_hex(client_secret.expose_secret());
        let stored = found.as_ref().map_or("", |c| c.secret_hash.as_str());
        let secret_ok = constant_time_eq(&presented, stored);
        let client = match found {
            Some(client) if secret_ok && !client.revoked => client,
            _ => return Err(ClientCredentialsError::InvalidClient),
        };
        let tenant = Tenant::new(client.member_id, Actor::ApiClient(client.id));
        self.issue(
            &tenant,
            self.auth.client_token_ttl,
            AuditAction::ClientTokenIssued,
        )
        .await
        .map_err(|_| ClientCredentialsError::ServerError)
    }

    async fn issue(
        &self,
        tenant: &Tenant,
        ttl: Duration,
        action: AuditAction,
    ) -> ServiceResult<IssuedToken> {
        let token = random_secret(ACCESS_TOKEN_PREFIX, 32);
        self.store
            .issue_token(
                tenant,
                &NewToken {
                    token_hash: sha256_hex(token.expose_secret()),
                    expires_at: Utc::now() + ttl,
                    action,
                },
            )
            .await?;
        Ok(IssuedToken {
            access_token: token,
            expires_in: ttl,
        })
    }

    /// The caller behind a bearer token, if the token is valid now.
    pub async fn authenticate(&self, bearer: &str) -> ServiceResult<Caller> {
        if !bearer.starts_with(ACCESS_TOKEN_PREFIX) || bearer.len() > 128 {
            return Err(ServiceError::Unauthenticated);
        }
        let token_hash = sha256_hex(bearer);
        let principal = self
            .store
            .authenticate(&token_hash, Utc::now())
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok(Caller::new(
            Tenant::new(principal.member_id, principal.actor),
            principal.role,
            token_hash,
        ))
    }

    /// Revokes the caller's own token.
    pub async fn logout(&self, caller: &Caller) -> ServiceResult<()> {
        Ok(self
            .store
            .revoke_token(caller.tenant(), caller.token_hash())
            .await?)
    }
}
