//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::app::operations::{self, Probe};
use crate::error::ApiError;
use crate::http::Reply;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    #[schema(example = "ready")]
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
}

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Result<HttpResponse, ApiError> {
    Ok(Reply::ok(Health { status: "ok" })?.into_response())
}

/// `GET /readyz`: the database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Readiness),
    (status = 503, description = "Not ready", content_type = "application/problem+json", body = crate::error::Problem),
))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match operations::readiness(&state.db).await {
        Probe::Ready(database) => Ok(Reply::ok(Readiness { status: "ready", database })?.into_response()),
        Probe::MigrationsPending => Err(unavailable("database migrations are pending")),
        Probe::Unreachable => Err(unavailable("the database is not reachable")),
    }
}

/// `GET /.well-known/apple-developer-merchantid-domain-association`: the file Apple fetches to
/// verify that this domain may show Apple Pay in Stripe's Payment Element, as configured by
/// `TABLEPAY_APPLE_PAY_DOMAIN_ASSOCIATION`; 404 when it is not.
#[utoipa::path(get, path = "/.well-known/apple-developer-merchantid-domain-association", tag = "operations", responses(
    (status = 200, description = "The domain association file Stripe issued for this domain", content_type = "text/plain", body = String),
    (status = 404, description = "No file is configured", content_type = "application/problem+json", body = crate::error::Problem),
))]
pub async fn apple_pay_domain_association(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let file = state.settings.apple_pay_domain_association.as_ref().ok_or_else(|| ApiError::not_found("resource"))?;
    Ok(HttpResponse::Ok().content_type("text/plain").body(file.clone()))
}

fn unavailable(detail: &str) -> ApiError {
    ApiError::new(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, crate::error::Code::ServiceUnavailable, detail)
}
