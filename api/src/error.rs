//! One error type for every handler, rendered as RFC 9457 `application/problem+json` with a
//! stable machine-readable `code` (see `API.md`, Conventions).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};

use crate::app::error::AppError;
pub use crate::app::error::Code;

/// An error a handler returns. 5xx errors keep their cause for the log and show none of it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Code,
    pub detail: String,
    /// Logged, never rendered.
    internal: Option<String>,
    /// Extension members of the problem document (e.g. `bill` for `bill_changed`).
    extra: Option<(&'static str, Box<Value>)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: Code, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), internal: None, extra: None }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, Code::Unauthorized, "a valid bearer credential is required")
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, Code::Forbidden, detail)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, Code::NotFound, format!("{what} not found"))
    }

    /// A well-formed request whose content breaks a rule (422).
    pub fn invalid(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::ValidationFailed, detail)
    }

    /// A request that cannot be read at all: malformed JSON, unknown fields, wrong types (400).
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Code::ValidationFailed, detail)
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn internal(cause: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: Code::InternalError,
            detail: "the server could not complete the request; it has been logged".into(),
            internal: Some(cause.into()),
            extra: None,
        }
    }

    pub fn title(&self) -> &'static str {
        self.code.title().unwrap_or_else(|| self.status.canonical_reason().unwrap_or("Error"))
    }

    /// The problem document.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "type": format!("https://tablepay.dev/errors/{}", self.code),
            "title": self.title(),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code.as_str(),
        });
        if let (Some((name, value)), Some(members)) = (&self.extra, body.as_object_mut()) {
            members.insert((*name).to_owned(), Value::clone(value));
        }
        body
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.internal {
            tracing::error!(code = self.code.as_str(), %cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.body(self.body().to_string())
    }
}

impl From<tablepay_store::StoreError> for ApiError {
    fn from(err: tablepay_store::StoreError) -> Self {
        ApiError::internal(err.to_string())
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound(what) => ApiError::not_found(what),
            AppError::Invalid(detail) => ApiError::invalid(detail),
            AppError::Forbidden(detail) => ApiError::forbidden(detail),
            AppError::Conflict(code, detail) => ApiError::conflict(code, detail),
            AppError::ProviderRejected(detail) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, Code::ProviderRejected, detail)
            }
            AppError::ProviderUnavailable(detail) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, Code::ProviderUnavailable, detail)
            }
            AppError::Unavailable(code, detail) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, detail),
            AppError::ProviderFailed(detail) => ApiError::new(StatusCode::BAD_GATEWAY, Code::ProviderError, detail),
            AppError::KeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request; use a new key",
            ),
            AppError::BillChanged(bill) => ApiError {
                extra: Some(("bill", bill)),
                ..ApiError::conflict(
                    Code::BillChanged,
                    "the bill changed since you saw it (items, prices or adjustments); check it and pay again",
                )
            },
            AppError::Store(e) => ApiError::internal(e.to_string()),
            AppError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(err: serde_json::Error) -> Self {
        ApiError::internal(format!("json: {err}"))
    }
}

/// An RFC 9457 problem: every error answer of the API.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct Problem {
    /// `https://tablepay.dev/errors/<code>`
    #[schema(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// Stable and machine-readable, e.g. `amount_exceeds_remaining`.
    code: String,
}

pub type ApiResult<T> = Result<T, ApiError>;
