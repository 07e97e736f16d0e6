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

use crate::AppState;
use crate::error::{ApiError, Code};
use crate::http::KnownTable;

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
        if counters.len() >= MAX_KEYS && !counters.contains_key(key) {
            counters.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            // Still full within one window (a flood from many addresses): start afresh rather
            // than grow, or scan on every request. Guessing a 192-bit token stays hopeless.
            if counters.len() >= MAX_KEYS {
                counters.clear();
            }
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

/// The client's address, as the limiter counts it: the peer; behind configured trusted
/// proxies, the nearest `X-Forwarded-For` hop that is not one of them (each proxy appends
/// the address it was reached from, so hops to the left of it are whatever the client
/// wrote). IPv6 clients count by their /64, the block one household or phone gets.
fn client_address(req: &ServiceRequest, trusted: &[IpAddr]) -> String {
    // Canonical forms, so that `::ffff:10.0.0.2` on a dual-stack socket is the proxy `10.0.0.2`.
    let Some(mut client) = req.peer_addr().map(|a| a.ip().to_canonical()) else {
        return "unknown".to_owned();
    };
    if trusted.contains(&client) {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in forwarded.iter().rev() {
            let Ok(ip) = hop.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()) else { break };
            client = ip;
            if !trusted.contains(&ip) {
                break;
            }
        }
    }
    match client {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        IpAddr::V4(v4) => v4.to_string(),
    }
}

fn too_many(retry_after: u64) -> HttpResponse {
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        format!("too many requests; retry in {retry_after} s"),
    );
    HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
        .insert_header(("content-type", "application/problem+json"))
        .insert_header(("retry-after", retry_after.to_string()))
        .body(error.body().to_string())
}

/// A guest route's path split around its QR token: (`/v1/t/` or `/t/`, token, the rest).
pub fn guest_path(path: &str) -> Option<(&'static str, &str, &str)> {
    ["/v1/t/", "/t/"].into_iter().find_map(|prefix| {
        let rest = path.strip_prefix(prefix)?;
        let (token, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        Some((prefix, token, tail))
    })
}

/// Middleware for `/v1/t/{qr_token}/…` and the guest page `/t/{qr_token}`.
pub async fn guest_limits(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let guest = guest_path(req.path());
    let page = guest.is_some_and(|(prefix, _, _)| prefix == "/t/");
    let token = guest.map(|(_, token, _)| token).filter(|t| !t.is_empty()).map(str::to_owned);
    let (Some(token), Some(state)) = (token, req.app_data::<web::Data<AppState>>().cloned()) else {
        return next.call(req).await;
    };
    let settings = &state.settings;
    let client = client_address(&req, &settings.trusted_proxies);
    let shaped = crate::app::tables::is_qr_token(&token);
    let found = state.guests.table(&state.db, &token).await;
    // Answered here, as a response, so the outer layers still add the request id.
    let known: Option<KnownTable> = match found {
        Ok(found) => found,
        Err(e) => return Ok(req.into_response(actix_web::ResponseError::error_response(&ApiError::from(e)))),
    };
    let verdict = match &known {
        Some(table) => state.rate_limiter.hit(&format!("table:{}", table.table_id), settings.rate_limit_table),
        None => state.rate_limiter.hit(&format!("unknown-qr:{client}"), settings.rate_limit_unknown_qr),
    };
    match verdict {
        // A token that cannot be one names no table; its handler never sees it, so neither
        // its idempotency record nor any query receives text such as a NUL.
        Ok(()) if !page && !shaped => {
            Ok(req.into_response(actix_web::ResponseError::error_response(&ApiError::not_found("table"))))
        }
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

    #[test]
    fn a_flood_of_keys_does_not_grow_without_bound() {
        let limiter = RateLimiter::default();
        for n in 0..MAX_KEYS + 10 {
            let _ = limiter.hit(&format!("k{n}"), 3);
        }
        let kept = limiter.counters.lock().expect("lock").len();
        assert!(kept <= MAX_KEYS, "{kept} counters");
    }

    fn client(peer: &str, forwarded: &[&str], trusted: &[&str]) -> String {
        let mut req = actix_web::test::TestRequest::default().peer_addr(peer.parse().expect("peer"));
        for value in forwarded {
            req = req.append_header(("x-forwarded-for", *value));
        }
        let trusted: Vec<IpAddr> = trusted.iter().map(|ip| ip.parse().expect("ip")).collect();
        client_address(&req.to_srv_request(), &trusted)
    }

    #[test]
    fn the_client_is_the_nearest_hop_that_is_not_a_trusted_proxy() {
        let proxy = "10.0.0.2";
        // Not behind a trusted proxy: the header is the client's own words.
        assert_eq!(client("203.0.113.7:5000", &["198.51.100.1"], &[proxy]), "203.0.113.7");
        assert_eq!(client("10.0.0.2:5000", &["198.51.100.1"], &[proxy]), "198.51.100.1");
        // Whatever the client wrote to the left of what the proxy appended is ignored.
        assert_eq!(client("10.0.0.2:5000", &["1.2.3.4, 198.51.100.1"], &[proxy]), "198.51.100.1");
        assert_eq!(client("10.0.0.2:5000", &["1.2.3.4", "198.51.100.1"], &[proxy]), "198.51.100.1");
        // Through two of our proxies.
        assert_eq!(client("10.0.0.2:5000", &["1.2.3.4, 198.51.100.1, 10.0.0.3"], &[proxy, "10.0.0.3"]), "198.51.100.1");
        // Garbage stops the walk at the last address a trusted proxy vouched for.
        assert_eq!(client("10.0.0.2:5000", &["nonsense"], &[proxy]), proxy);
        assert_eq!(client("10.0.0.2:5000", &[], &[proxy]), proxy);
        // IPv6 by /64; IPv4-mapped as IPv4.
        assert_eq!(client("[2001:db8:1:2:3:4:5:6]:5000", &[], &[]), "2001:db8:1:2::/64");
        assert_eq!(client("[2001:db8:1:2:ffff::9]:5000", &[], &[]), "2001:db8:1:2::/64");
        assert_eq!(client("[::ffff:198.51.100.9]:5000", &[], &[]), "198.51.100.9");
        // A dual-stack socket sees an IPv4 proxy as IPv4-mapped.
        assert_eq!(client("[::ffff:10.0.0.2]:5000", &["198.51.100.1"], &[proxy]), "198.51.100.1");
    }
}
