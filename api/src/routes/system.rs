//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::http::Reply;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#)
}

/// `GET /readyz`: the database answers and every migration is applied.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let current = web::block(move || db.migrations_current()).await.map_err(|e| ApiError::internal(e.to_string()))?;
    match current {
        Ok(true) => Ok(Reply::ok(json!({"status": "ready", "database": state.db.backend()}))?.into_response()),
        Ok(false) => Err(unavailable("database migrations are pending")),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(unavailable("the database is not reachable"))
        }
    }
}

fn unavailable(detail: &str) -> ApiError {
    ApiError::new(actix_web::http::StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", detail)
}
