//! What can go wrong, said in domain terms. The protocol faces map each variant to their vendor's
//! status code and body, each in one place; nothing here knows HTTP or SOAP.

use std::fmt;

/// A failure of the store, classified by what the caller can do about it.
#[derive(thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (refused, timed out, pool exhausted): try again later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The thing being created exists already.
    #[error("{0} already exists")]
    Conflict(String),
    /// A write names something that does not exist (tenant, environment, key, interaction).
    #[error("{0} does not exist")]
    Missing(String),
    /// Anything else; the message is for the log, never for the wire.
    #[error("store failure: {0}")]
    Failed(String),
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Why credentials were refused. The text is safe to show (`Unauthenticated-Reason`): it never says
/// whether another tenant, environment or key exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingTenant,
    MissingKey,
    TenantMismatch,
    UnknownKey,
    RevokedKey,
    UnknownEnvironment,
    ScopeNotAllowed,
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            Self::MissingTenant => "missing Tenant-Id header",
            Self::MissingKey => "missing Application-Key header",
            Self::TenantMismatch => "Tenant-Id does not match account",
            Self::UnknownKey => "unknown application key",
            Self::RevokedKey => "application key revoked",
            Self::UnknownEnvironment => "unknown environment",
            Self::ScopeNotAllowed => "application key scope does not allow this operation",
        }
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// The answer of a history query when it is not the history.
#[derive(thiserror::Error)]
pub enum HistoryError {
    #[error("unauthenticated: {0}")]
    Unauthenticated(AuthFailure),
    #[error("missing or invalid parameter {0}")]
    InvalidParameter(String),
    #[error("history for UUID {0} was not found")]
    UniqueIdNotFound(String),
    #[error("history for attribute {0} was not found")]
    AttributeNotFound(String),
    #[error("variable set {0} was not found")]
    VariableSetNotFound(String),
    #[error("photo was not found")]
    PhotoNotFound,
    #[error("interaction {0} was not found")]
    InteractionNotFound(String),
    #[error("{part} of interaction {id} was not found")]
    ContentNotFound { id: String, part: &'static str },
    #[error("unknown tenant {0}")]
    UnknownTenant(String),
    #[error("no tenant given and no default tenant configured")]
    NoTenant,
    #[error("store unavailable")]
    StoreUnavailable(#[source] StoreError),
    #[error("internal failure")]
    Internal(#[source] StoreError),
}

impl fmt::Debug for HistoryError {
    /// The whole cause chain, for the log (never for the wire), on one line: a log line is one event.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "; caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl From<StoreError> for HistoryError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::StoreUnavailable(e),
            other => Self::Internal(other),
        }
    }
}

impl HistoryError {
    pub fn invalid(name: &str) -> Self {
        Self::InvalidParameter(name.to_string())
    }

    /// Why credentials were refused, if that is what this answer is: every face logs its reason.
    pub fn refusal(&self) -> Option<AuthFailure> {
        match self {
            Self::Unauthenticated(why) => Some(*why),
            _ => None,
        }
    }

    /// A short, stable name of the kind of answer, for logs and metrics (never shown to clients).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "unauthenticated",
            Self::InvalidParameter(_) => "invalid_parameter",
            Self::UniqueIdNotFound(_)
            | Self::AttributeNotFound(_)
            | Self::VariableSetNotFound(_)
            | Self::PhotoNotFound
            | Self::InteractionNotFound(_)
            | Self::ContentNotFound { .. } => "not_found",
            Self::UnknownTenant(_) | Self::NoTenant => "unknown_tenant",
            Self::StoreUnavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}
