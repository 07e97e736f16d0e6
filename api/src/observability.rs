//! Request ids and security headers on every response.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Takes the caller's `x-request-id` (when it is a sane token) or makes one, logs the
/// request under it, and returns it on the response, so a guest's complaint, the POS's log
/// and ours meet on one id. Outermost: every answer passes here, CORS preflights included.
pub async fn request_id<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
        .map_or_else(tablepay_store::new_id, str::to_owned);
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = %loggable_path(req.path()));
    let started = std::time::Instant::now();
    // Inner layers answer their errors as responses (see `limits`), so none bypasses this.
    let mut response = tracing::Instrument::instrument(next.call(req), span.clone()).await?;
    let status = response.status().as_u16();
    if let Some(state) = response.request().app_data::<actix_web::web::Data<crate::AppState>>() {
        let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        state.metrics.observe(&route, response.request().method().as_str(), status, started.elapsed());
    }
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

/// The path as logged: a QR token opens its table's bill to whoever holds it, so it stays
/// out of the logs.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match crate::limits::guest_path(path) {
        Some((prefix, _, tail)) => format!("{prefix}{{qr_token}}{tail}").into(),
        None => path.into(),
    }
}

/// Routes a guest's browser calls from the guest page's origin.
fn guest_route(path: &str) -> bool {
    path.starts_with("/v1/t/") || path.starts_with("/v1/sandbox/")
}

/// CORS for the guest page (`TABLEPAY_GUEST_ORIGIN`) on the guest routes: preflights are
/// answered here, and matching responses carry `Access-Control-Allow-Origin`. Any other
/// origin gets no CORS headers, so browsers keep other sites out.
pub async fn cors<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let allowed = req
        .app_data::<actix_web::web::Data<crate::AppState>>()
        .and_then(|state| state.settings.guest_origin.clone())
        .filter(|origin| {
            guest_route(req.path())
                && req.headers().get("origin").and_then(|v| v.to_str().ok()) == Some(origin.as_str())
        });
    let Some(origin) = allowed else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    let origin = HeaderValue::from_str(&origin).map_err(actix_web::error::ErrorInternalServerError)?;
    if req.method() == actix_web::http::Method::OPTIONS {
        let response = actix_web::HttpResponse::NoContent()
            .insert_header(("access-control-allow-origin", origin))
            .insert_header(("access-control-allow-methods", "GET, POST"))
            .insert_header(("access-control-allow-headers", "content-type, idempotency-key, x-request-id"))
            .insert_header(("access-control-max-age", "600"))
            .insert_header(("vary", "origin"))
            .finish();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?.map_into_left_body();
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("access-control-allow-origin"), origin);
    headers.insert(
        HeaderName::from_static("access-control-expose-headers"),
        HeaderValue::from_static("x-request-id, retry-after, idempotent-replayed"),
    );
    headers.insert(HeaderName::from_static("vary"), HeaderValue::from_static("origin"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn qr_tokens_stay_out_of_the_logs() {
        assert_eq!(loggable_path("/v1/t/SECRET/payments/p1"), "/v1/t/{qr_token}/payments/p1");
        assert_eq!(loggable_path("/v1/t/SECRET"), "/v1/t/{qr_token}");
        assert_eq!(loggable_path("/t/SECRET"), "/t/{qr_token}");
        assert_eq!(loggable_path("/v1/bills/b1"), "/v1/bills/b1");
    }
}
