//! Sign-in for people (password → bearer token) and integrations (OAuth2 client
//! credentials → bearer token), and checking a bearer token on each request.

use casebridge_domain::audit::AuditAction;
use casebridge_domain::EmailAddress;
use casebridge_store::{Actor, NewToken, Tenant};
use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::secrets::{
    constant_time_eq, random_secret, sha256_hex, verify_password, ACCESS_TOKEN_PREFIX,
    SESSION_PREFIX,
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
        let tenant = self.check_password(username, password).await?;
        let token = NewToken {
            token_hash: String::new(),
            issued_at: Utc::now(),
            expires_at: Utc::now() + self.auth.user_token_ttl,
            idle_timeout: None,
            action: AuditAction::LoginSucceeded,
        };
        self.issue(&tenant, ACCESS_TOKEN_PREFIX, token).await
    }

    /// Signs a person in to the web UI: a session secret for a cookie, which lapses after
    /// the idle timeout or the absolute one. Each sign-in makes a new secret.
    pub async fn start_session(
        &self,
        username: &str,
        password: SecretString,
    ) -> ServiceResult<IssuedToken> {
        let tenant = self.check_password(username, password).await?;
        let now = self.now();
        let token = NewToken {
            token_hash: String::new(),
            issued_at: now,
            expires_at: now + self.auth.session_ttl,
            idle_timeout: Some(self.auth.session_idle_timeout),
            action: AuditAction::LoginSucceeded,
        };
        self.issue(&tenant, SESSION_PREFIX, token).await
    }

    /// The anti-forgery token every form of a session carries: derived from the session's
    /// secret, so it needs no storage, and useless without the cookie it belongs to.
    pub fn session_csrf_token(secret: &str) -> String {
        sha256_hex(&format!("casebridge-csrf/{secret}"))
    }

    /// Whether session cookies must be `Secure`: the operator serves over TLS.
    pub fn secure_cookies(&self) -> bool {
        self.cases.public_url.starts_with("https://")
    }

    /// The caller behind a web session secret, if the session is live now; using it
    /// restarts the idle timeout.
    pub async fn session(&self, secret: &str) -> ServiceResult<Caller> {
        if !secret.starts_with(SESSION_PREFIX) || secret.len() > 128 {
            return Err(ServiceError::Unauthenticated);
        }
        let token_hash = sha256_hex(secret);
        let now = self.now();
        let principal = self
            .store
            .authenticate(&token_hash, now)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        // One write a minute at most, however many pages are opened.
        if principal
            .last_used_at
            .is_none_or(|at| now - at > Duration::minutes(1))
        {
            self.store.touch_token(&token_hash, now).await?;
        }
        Ok(Caller::new(
            Tenant::new(principal.member_id, principal.actor),
            principal.role,
            token_hash,
        ))
    }

    /// The tenant of a person whose password is correct and whose account is enabled.
    /// Unknown addresses cost a hash check too, so timing does not tell them apart.
    async fn check_password(
        &self,
        username: &str,
        password: SecretString,
    ) -> ServiceResult<Tenant> {
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
        Ok(Tenant::new(login.member_id, Actor::User(login.user_id)))
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
        let token = NewToken {
            token_hash: String::new(),
            issued_at: Utc::now(),
            expires_at: Utc::now() + self.auth.client_token_ttl,
            idle_timeout: None,
            action: AuditAction::ClientTokenIssued,
        };
        self.issue(&tenant, ACCESS_TOKEN_PREFIX, token)
            .await
            .map_err(|_| ClientCredentialsError::ServerError)
    }

    /// Stores `token` under the hash of a new secret with `prefix` and returns the secret.
    async fn issue(
        &self,
        tenant: &Tenant,
        prefix: &str,
        token: NewToken,
    ) -> ServiceResult<IssuedToken> {
        let secret = random_secret(prefix, 32);
        let expires_in = token.expires_at - token.issued_at;
        let token = NewToken {
            token_hash: sha256_hex(secret.expose_secret()),
            ..token
        };
        self.store.issue_token(tenant, &token).await?;
        Ok(IssuedToken {
            access_token: secret,
            expires_in,
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
