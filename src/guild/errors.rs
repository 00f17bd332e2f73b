//! How refusals reach the client: one place that maps rule outcomes to error codes, for the
//! guild service and the moderation service alike.

use guildhall_protocol::{ErrorBody, ErrorCode};

use crate::domain::guild::profile::ProfileError;
use crate::domain::guild::roles::Denied;
use crate::store::guild::ledger::LedgerError;
use crate::store::StoreError;

/// The store failed: the client may retry; the cause goes to the log, not the wire.
pub fn db_error(e: impl Into<StoreError>) -> ErrorBody {
    let e: StoreError = e.into();
    tracing::warn!(error = %e, "guild store error");
    ErrorBody::new(
        ErrorCode::Unavailable,
        "the guild store is unavailable; retry",
    )
}

pub fn denied(d: Denied) -> ErrorBody {
    let code = match d {
        Denied::RoleFull { .. } => ErrorCode::LimitReached,
        Denied::NoRole | Denied::UnknownRole(_) => ErrorCode::Invalid,
        Denied::Missing(_) | Denied::Rank => ErrorCode::Forbidden,
    };
    ErrorBody::new(code, d.to_string())
}

pub fn profile(e: ProfileError) -> ErrorBody {
    ErrorBody::new(ErrorCode::Invalid, e.to_string())
}

pub fn ledger(e: LedgerError, currency: &str) -> ErrorBody {
    match e {
        LedgerError::Insufficient { balance } => ErrorBody::new(
            ErrorCode::InsufficientFunds,
            format!("not enough {currency}: the balance is {balance}"),
        ),
        LedgerError::Db(e) => db_error(e),
    }
}

pub fn no_guild() -> ErrorBody {
    ErrorBody::new(ErrorCode::NotFound, "no such guild")
}

pub fn not_member() -> ErrorBody {
    ErrorBody::new(ErrorCode::NotMember, "you are not a member of this guild")
}

pub fn target_not_member() -> ErrorBody {
    ErrorBody::new(
        ErrorCode::NotFound,
        "that user is not a member of this guild",
    )
}

pub fn invalid(msg: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::Invalid, msg)
}

pub fn forbidden(msg: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::Forbidden, msg)
}

pub fn not_found(msg: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::NotFound, msg)
}

pub fn conflict(msg: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::Conflict, msg)
}

pub fn limit(msg: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::LimitReached, msg)
}

/// What guild ops answer on refusal.
pub type Body = ErrorBody;
