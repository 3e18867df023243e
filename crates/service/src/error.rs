//! What a use case can answer besides success. Expected outcomes are variants with a
//! stable meaning; anything unexpected is `Internal`, whose cause only reaches the log.

use casebridge_domain::partnership::PartnershipError;
use casebridge_domain::sharing::Refusal;
use casebridge_domain::ValidationErrors;
use casebridge_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("authentication is required")]
    Unauthenticated,
    #[error("the username or password is not correct")]
    InvalidCredentials,
    #[error("this account is disabled; ask your company's Casebridge administrator")]
    AccountDisabled,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("{0}")]
    AgreementNotAccepted(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("{0}")]
    FormOutdated(String),
    #[error("{0}")]
    NoActivePartnership(&'static str),
    #[error("{0}")]
    CustomerAuthorizationRequired(&'static str),
    #[error("{0}")]
    AuthorizationOutOfScope(String),
    #[error("{0}")]
    RejectionNotAllowed(String),
    #[error("{0}")]
    AuthorizationRevoked(&'static str),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl From<Refusal> for ServiceError {
    fn from(refusal: Refusal) -> Self {
        let message = refusal.message();
        match refusal {
            Refusal::SubmitterAgreement | Refusal::ReceiverAgreement => {
                ServiceError::AgreementNotAccepted(message)
            }
            Refusal::PartnershipInactive => ServiceError::NoActivePartnership(message),
            Refusal::AuthorizationMissing
            | Refusal::AuthorizationExpired
            | Refusal::AuthorizationPending => ServiceError::CustomerAuthorizationRequired(message),
            Refusal::AuthorizationRevoked => ServiceError::AuthorizationRevoked(message),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict(what) => ServiceError::Conflict(what.to_owned()),
            StoreError::Stale => {
                ServiceError::Conflict("the object was changed meanwhile; reload and retry".into())
            }
            StoreError::Database(e) => ServiceError::Internal(e.to_string()),
            StoreError::Corrupt(e) => ServiceError::Internal(e),
        }
    }
}

impl From<PartnershipError> for ServiceError {
    fn from(error: PartnershipError) -> Self {
        match error {
            PartnershipError::SelfPartnership => ValidationErrors::single(
                "partnerCompanyId",
                "a member cannot enter a partnership with itself",
            )
            .into(),
            PartnershipError::NotInvited => {
                ServiceError::Forbidden("only the invited member can accept or decline a proposal")
            }
            PartnershipError::InvalidTransition { .. } => {
                ServiceError::InvalidTransition(error.to_string())
            }
        }
    }
}
