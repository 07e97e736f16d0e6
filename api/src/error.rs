//! One error type for every handler, rendered as RFC 9457 `application/problem+json` with a
//! stable machine-readable `code` (see `API.md`, Conventions).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Value, json};

/// An error a handler returns. 5xx errors keep their cause for the log and show none of it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Logged, never rendered.
    internal: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code, detail: detail.into(), internal: None }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer credential is required")
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    /// A well-formed request whose content breaks a rule (422).
    pub fn invalid(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail)
    }

    /// A request that cannot be read at all: malformed JSON, unknown fields, wrong types (400).
    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn internal(cause: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal_error",
            detail: "the server could not complete the request; it has been logged".into(),
            internal: Some(cause.into()),
        }
    }

    pub fn title(&self) -> &'static str {
        match self.code {
            "unauthorized" => "Unauthorized",
            "forbidden" => "Forbidden",
            "not_found" => "Not found",
            "validation_failed" => "Validation failed",
            "conflict" => "Conflict",
            "bill_not_open" => "Bill not open",
            "item_paid" => "Item paid",
            "idempotency_key_reused" => "Idempotency key reused",
            "idempotency_key_in_use" => "Idempotency key in use",
            "payload_too_large" => "Payload too large",
            "unsupported_media_type" => "Unsupported media type",
            "method_not_allowed" => "Method not allowed",
            "service_unavailable" => "Service unavailable",
            _ => self.status.canonical_reason().unwrap_or("Error"),
        }
    }

    /// The problem document.
    pub fn body(&self) -> Value {
        json!({
            "type": format!("https://tablepay.dev/errors/{}", self.code),
            "title": self.title(),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        })
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
            tracing::error!(code = self.code, %cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.body(self.body().to_string())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        ApiError::internal(format!("database: {err}"))
    }
}

impl From<tablepay_store::StoreError> for ApiError {
    fn from(err: tablepay_store::StoreError) -> Self {
        ApiError::internal(err.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(err: serde_json::Error) -> Self {
        ApiError::internal(format!("json: {err}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
