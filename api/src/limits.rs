//! Rate limits on the guest routes (API.md, Guest): lookups of unknown QR tokens per client
//! address, so guessing a token is hopeless, and traffic per known table, so that a full
//! restaurant behind one Wi-Fi address is never throttled by its neighbours.
//!
//! Counters are per process (fixed one-minute windows): N processes allow N times the
//! limit, which still leaves guessing a 192-bit token hopeless.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use diesel::prelude::*;

use crate::AppState;
use crate::db::schema::{dining_tables, venues};
use crate::error::ApiError;

const WINDOW: Duration = Duration::from_secs(60);
/// Forget idle counters once there are this many.
const MAX_KEYS: usize = 50_000;

#[derive(Debug, Default)]
pub struct RateLimiter {
    counters: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// Counts one hit on `key`; `Err(seconds)` when it is over `limit` in this window.
    pub fn hit(&self, key: &str, limit: u32) -> Result<(), u64> {
        let now = Instant::now();
        let mut counters = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counters.len() > MAX_KEYS {
            counters.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = counters.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > limit {
            let left = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        Ok(())
    }
}

/// The client's address: the peer, or the first `X-Forwarded-For` hop when the peer is a
/// configured trusted proxy.
fn client_address(req: &ServiceRequest, trusted: &[IpAddr]) -> String {
    let peer = req.peer_addr().map(|a| a.ip());
    if let Some(peer) = peer
        && trusted.contains(&peer)
        && let Some(forwarded) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return forwarded.to_string();
    }
    peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

fn too_many(retry_after: u64) -> HttpResponse {
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {retry_after} s"),
    );
    HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
        .insert_header(("content-type", "application/problem+json"))
        .insert_header(("retry-after", retry_after.to_string()))
        .body(error.body().to_string())
}

/// The table a guest route's QR token names, found by the limiter and left in the request's
/// extensions for the handler.
#[derive(Debug, Clone)]
pub struct KnownTable {
    pub table_id: String,
    pub payment_provider: String,
}

/// Middleware for `/v1/t/{qr_token}/…` and the guest page `/t/{qr_token}`.
pub async fn guest_limits(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let page = req.path().starts_with("/t/");
    let token = req
        .path()
        .strip_prefix("/v1/t/")
        .or_else(|| req.path().strip_prefix("/t/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let (Some(token), Some(state)) = (token, req.app_data::<web::Data<AppState>>().cloned()) else {
        return next.call(req).await;
    };
    let settings = &state.settings;
    let client = client_address(&req, &settings.trusted_proxies);
    let known: Option<KnownTable> = if token.len() > 128 {
        None
    } else {
        state
            .db
            .run(move |conn| {
                Ok(dining_tables::table
                    .inner_join(venues::table)
                    .filter(dining_tables::qr_token.eq(&token))
                    .select((dining_tables::id, venues::payment_provider))
                    .first::<(String, String)>(conn)
                    .optional()?
                    .map(|(table_id, payment_provider)| KnownTable { table_id, payment_provider }))
            })
            .await?
    };
    let verdict = match &known {
        Some(table) => state.rate_limiter.hit(&format!("table:{}", table.table_id), settings.rate_limit_table),
        None => state.rate_limiter.hit(&format!("unknown-qr:{client}"), settings.rate_limit_unknown_qr),
    };
    match verdict {
        Ok(()) => {
            if let Some(table) = known {
                req.extensions_mut().insert(table);
            }
            next.call(req).await
        }
        // The page itself answers in HTML, so a guest reads words, not JSON; its script then
        // meets the same limit on the API and says when to try again.
        Err(retry_after) if page => {
            let mut response = crate::assets::page(
                &state,
                "guest.html",
                StatusCode::TOO_MANY_REQUESTS,
                crate::assets::CSP,
                crate::assets::accepts_gzip(req.headers()),
            )
            .unwrap_or_else(|_| too_many(retry_after));
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, value);
            }
            Ok(req.into_response(response))
        }
        Err(retry_after) => Ok(req.into_response(too_many(retry_after))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_within_the_window() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            assert!(limiter.hit("a", 3).is_ok());
        }
        let retry = limiter.hit("a", 3).expect_err("fourth is over");
        assert!((1..=60).contains(&retry));
        assert!(limiter.hit("b", 3).is_ok(), "keys are independent");
    }
}
