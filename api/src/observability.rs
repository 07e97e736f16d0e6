//! Request ids and security headers on every response.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Takes the caller's `x-request-id` (when it is a sane token) or makes one, logs the
/// request under it, and returns it on the response, so a guest's complaint, the POS's log
/// and ours meet on one id.
pub async fn request_id<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
        .map_or_else(crate::http::new_id, str::to_owned);
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %req.path());
    let started = std::time::Instant::now();
    let mut response = tracing::Instrument::instrument(next.call(req), span.clone()).await?;
    let status = response.status().as_u16();
    span.in_scope(|| tracing::info!(status, elapsed_ms = started.elapsed().as_millis() as u64, "handled"));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}
