//! What a use case answers when it cannot do what was asked: a rule that refused, a thing
//! that is not there, or a failure underneath. No HTTP here; the HTTP layer's error is
//! built from it at the edge.

use std::fmt;

use tablepay_store::StoreError;

/// Every machine-readable error code of the API (API.md, Conventions), in one place. A
/// client branches on these; they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Unauthorized,
    Forbidden,
    NotFound,
    ValidationFailed,
    Conflict,
    BillNotOpen,
    ItemPaid,
    ItemsUnavailable,
    AmountExceedsRemaining,
    BillChanged,
    SplitInProgress,
    TableOccupied,
    PaymentsPending,
    PaymentNotPaid,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    ProviderRejected,
    ProviderUnavailable,
    ProviderError,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    RateLimited,
    ServiceUnavailable,
    EmailUnavailable,
    InternalError,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthorized => "unauthorized",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::ValidationFailed => "validation_failed",
            Code::Conflict => "conflict",
            Code::BillNotOpen => "bill_not_open",
            Code::ItemPaid => "item_paid",
            Code::ItemsUnavailable => "items_unavailable",
            Code::AmountExceedsRemaining => "amount_exceeds_remaining",
            Code::BillChanged => "bill_changed",
            Code::SplitInProgress => "split_in_progress",
            Code::TableOccupied => "table_occupied",
            Code::PaymentsPending => "payments_pending",
            Code::PaymentNotPaid => "payment_not_paid",
            Code::IdempotencyKeyReused => "idempotency_key_reused",
            Code::IdempotencyKeyInUse => "idempotency_key_in_use",
            Code::ProviderRejected => "provider_rejected",
            Code::ProviderUnavailable => "provider_unavailable",
            Code::ProviderError => "provider_error",
            Code::PayloadTooLarge => "payload_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::RateLimited => "rate_limited",
            Code::ServiceUnavailable => "service_unavailable",
            Code::EmailUnavailable => "email_unavailable",
            Code::InternalError => "internal_error",
        }
    }

    /// The problem document's `title`, where the code has its own; otherwise the title is
    /// the HTTP status's reason phrase.
    pub fn title(self) -> Option<&'static str> {
        Some(match self {
            Code::Unauthorized => "Unauthorized",
            Code::Forbidden => "Forbidden",
            Code::NotFound => "Not found",
            Code::ValidationFailed => "Validation failed",
            Code::Conflict => "Conflict",
            Code::BillNotOpen => "Bill not open",
            Code::ItemPaid => "Item paid",
            Code::BillChanged => "Bill changed",
            Code::SplitInProgress => "Split in progress",
            Code::TableOccupied => "Table occupied",
            Code::PaymentsPending => "Payments pending",
            Code::PaymentNotPaid => "Payment not paid",
            Code::IdempotencyKeyReused => "Idempotency key reused",
            Code::IdempotencyKeyInUse => "Idempotency key in use",
            Code::PayloadTooLarge => "Payload too large",
            Code::UnsupportedMediaType => "Unsupported media type",
            Code::MethodNotAllowed => "Method not allowed",
            Code::ServiceUnavailable => "Service unavailable",
            Code::EmailUnavailable => "E-mail unavailable",
            _ => return None,
        })
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a use case refused or failed.
#[derive(Debug)]
pub enum AppError {
    /// No such thing, or not one the caller may see (the two look the same from outside).
    NotFound(&'static str),
    /// The request breaks a rule whatever the state (422).
    Invalid(String),
    /// The caller may not do this (403).
    Forbidden(String),
    /// The current state refuses the request (409), with the code that says which rule.
    Conflict(Code, String),
    /// The payment provider refused (422).
    ProviderRejected(String),
    /// A service this request needs is not set up here (503), with the code that says which.
    Unavailable(Code, String),
    /// The payment provider did not answer; the same request may be retried (503).
    ProviderUnavailable(String),
    /// The payment provider answered with a failure after we asked it to move money (502).
    ProviderFailed(String),
    /// The `Idempotency-Key` was used before with a different request (422).
    KeyReused,
    /// The bill's content changed since the guest saw it (409 `bill_changed`), with the bill
    /// as the guest now sees it.
    BillChanged(Box<serde_json::Value>),
    /// The store failed underneath.
    Store(StoreError),
    /// Anything else that should not happen; logged, never shown.
    Internal(String),
}

impl AppError {
    pub fn invalid(detail: impl Into<String>) -> AppError {
        AppError::Invalid(detail.into())
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> AppError {
        AppError::Conflict(code, detail.into())
    }

    /// Another request with the same `Idempotency-Key` is still being processed (409).
    pub fn key_in_use() -> AppError {
        AppError::conflict(
            Code::IdempotencyKeyInUse,
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> AppError {
        AppError::Forbidden(detail.into())
    }

    pub fn internal(cause: impl Into<String>) -> AppError {
        AppError::Internal(cause.into())
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        AppError::Store(err)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::NotFound(what) => write!(f, "{what} not found"),
            AppError::Invalid(d) | AppError::Forbidden(d) | AppError::ProviderRejected(d) => f.write_str(d),
            AppError::ProviderUnavailable(d) | AppError::ProviderFailed(d) | AppError::Internal(d) => f.write_str(d),
            AppError::KeyReused => f.write_str("the Idempotency-Key was used with a different request"),
            AppError::BillChanged(_) => f.write_str("the bill changed since it was read"),
            AppError::Conflict(code, d) | AppError::Unavailable(code, d) => write!(f, "{code}: {d}"),
            AppError::Store(e) => write!(f, "{e}"),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
