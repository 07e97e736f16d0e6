//! Delivering the outbox to webhook endpoints: at least once, with the same `webhook-id`
//! on every attempt, on a retry schedule with jitter, every attempt recorded.
//!
//! Deliveries are claimed with a lease (`locked_until`, taken with `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, under SQLite's single writer otherwise), so several processes share the
//! work and no delivery is attempted twice at once. A process killed mid-attempt leaves a
//! lease that simply runs out; another process then delivers.

pub mod sign;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use futures_util::future::join_all;
use tokio::sync::watch;

use crate::AppState;
use crate::db::{self, DbConn};
use crate::error::ApiError;
use crate::http::new_id;
use tablepay_store::rows::{Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use tablepay_store::schema::{events, webhook_attempts, webhook_deliveries, webhook_endpoints};

/// A lease longer than any attempt (the timeout is at most 60 s).
const LEASE: Duration = Duration::from_secs(120);
const BATCH: i64 = 32;
/// How much of a receiver's answer is kept with the attempt.
const EXCERPT_BYTES: usize = 1024;

/// One delivery claimed by this process.
struct Job {
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    event: Event,
    token: String,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

fn claim(conn: &mut DbConn, now: NaiveDateTime) -> Result<Vec<Job>, ApiError> {
    let ids: Vec<String> = match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (locked_until IS NULL OR locked_until < $1) ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(BATCH)
        .load::<IdRow>(c)?
        .into_iter()
        .map(|r| r.id)
        .collect(),
        DbConn::Sqlite(c) => webhook_deliveries::table
            .filter(webhook_deliveries::status.eq("pending"))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(webhook_deliveries::locked_until.is_null().or(webhook_deliveries::locked_until.lt(now)))
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(BATCH)
            .select(webhook_deliveries::id)
            .load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let token = new_id();
    let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set((webhook_deliveries::locked_until.eq(until), webhook_deliveries::lock_token.eq(&token)))
        .execute(conn)?;
    let rows: Vec<(WebhookDelivery, Event, WebhookEndpoint)> = webhook_deliveries::table
        .inner_join(events::table)
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .select((WebhookDelivery::as_select(), Event::as_select(), WebhookEndpoint::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(delivery, event, endpoint)| Job { delivery, endpoint, event, token: token.clone() })
        .collect())
}

/// When the next pending delivery falls due, if any.
fn next_due(conn: &mut DbConn) -> Result<Option<NaiveDateTime>, ApiError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .order(webhook_deliveries::next_attempt_at.asc())
        .select(webhook_deliveries::next_attempt_at)
        .first(conn)
        .optional()?)
}

/// Delivers due webhooks until `shutdown` turns true; the batch in flight is finished first.
pub async fn worker(state: Arc<AppState>, mut shutdown: watch::Receiver<bool>) {
    let settings = state.settings.webhooks.clone();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .user_agent(concat!("tablepay-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are not delivered");
            return;
        }
    };
    let mut signal = state.db.event_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        signal.borrow_and_update();
        match state.db.write(move |conn| claim(conn, db::now())).await {
            Ok(jobs) if !jobs.is_empty() => {
                join_all(jobs.into_iter().map(|job| deliver(&state, &client, job))).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not claim webhook deliveries"),
        }
        let wait = match state.db.run(next_due).await {
            Ok(Some(due)) => (due - db::now()).to_std().unwrap_or(Duration::ZERO).min(settings.poll_interval),
            _ => settings.poll_interval,
        };
        tokio::select! {
            changed = signal.changed() => if changed.is_err() { tokio::time::sleep(wait).await },
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("webhook worker stopped");
}

/// What one attempt came to.
struct Outcome {
    status_code: Option<u16>,
    error: Option<String>,
    excerpt: Option<String>,
    retry_after: Option<Duration>,
    latency: Duration,
}

async fn attempt(state: &AppState, client: &reqwest::Client, job: &Job) -> Outcome {
    let started = Instant::now();
    let fail = |error: String| Outcome {
        status_code: None,
        error: Some(error),
        excerpt: None,
        retry_after: None,
        latency: started.elapsed(),
    };
    // Unless private networks are allowed, connect only to the addresses just checked, so a
    // name that resolves differently a moment later cannot point the request inward.
    let pinned;
    let client = if state.settings.webhooks.allow_private_networks {
        client
    } else {
        let checked = match resolve_public(&job.endpoint.url).await {
            Ok(c) => c,
            Err(e) => return fail(e.detail),
        };
        pinned = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(state.settings.webhooks.timeout)
            .resolve_to_addrs(&checked.0, &checked.1)
            .build()
        {
            Ok(c) => c,
            Err(e) => return fail(format!("client: {e}")),
        };
        &pinned
    };
    let now = db::now();
    let timestamp = now.and_utc().timestamp();
    let mut secrets = vec![job.endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (&job.endpoint.previous_secret, job.endpoint.previous_secret_expires_at)
        && until > now
    {
        secrets.push(previous);
    }
    let body = job.event.payload.clone().into_bytes();
    let signature = sign::header(&secrets, &job.event.id, timestamp, &body);
    let sent = client
        .post(&job.endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &job.event.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Err(e) => fail(if e.is_timeout() { "timed out".to_owned() } else { format!("request failed: {e}") }),
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(86_400)));
            let bytes = response.bytes().await.unwrap_or_default();
            let excerpt = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]).into_owned();
            let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
            Outcome {
                status_code: Some(status),
                error,
                excerpt: Some(excerpt),
                retry_after,
                latency: started.elapsed(),
            }
        }
    }
}

/// ±20 % of `delay`.
fn jitter(delay: Duration) -> Duration {
    let mut byte = [0_u8; 2];
    if getrandom::fill(&mut byte).is_err() {
        return delay;
    }
    let unit = f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX);
    delay.mul_f64(0.8 + 0.4 * unit)
}

async fn deliver(state: &AppState, client: &reqwest::Client, job: Job) {
    let usable = job.endpoint.enabled && job.endpoint.deleted_at.is_none();
    let outcome = if usable {
        attempt(state, client, &job).await
    } else {
        Outcome {
            status_code: None,
            error: Some("the endpoint was disabled or deleted".into()),
            excerpt: None,
            retry_after: None,
            latency: Duration::ZERO,
        }
    };
    let schedule = state.settings.webhooks.retry_schedule.clone();
    let delivery_id = job.delivery.id.clone();
    let recorded = state.db.write(move |conn| record(conn, &job, &outcome, usable, &schedule)).await;
    if let Err(e) = recorded {
        tracing::error!(delivery = %delivery_id, error = %e, "could not record a webhook attempt");
    }
}

fn record(
    conn: &mut DbConn,
    job: &Job,
    outcome: &Outcome,
    attempted: bool,
    schedule: &[Duration],
) -> Result<(), ApiError> {
    let now = db::now();
    // Still ours? (A lease that ran out may have been taken by another process.)
    let current: Option<WebhookDelivery> = webhook_deliveries::table
        .find(&job.delivery.id)
        .filter(webhook_deliveries::lock_token.eq(&job.token))
        .select(WebhookDelivery::as_select())
        .first(conn)
        .optional()?;
    let Some(current) = current else { return Ok(()) };
    let attempts = current.attempts + i32::from(attempted);
    if attempted {
        let done: i64 =
            webhook_attempts::table.filter(webhook_attempts::delivery_id.eq(&current.id)).count().get_result(conn)?;
        let row = WebhookAttempt {
            id: new_id(),
            delivery_id: current.id.clone(),
            attempt: i32::try_from(done + 1).unwrap_or(i32::MAX),
            started_at: now - chrono::Duration::from_std(outcome.latency).unwrap_or_default(),
            status_code: outcome.status_code.map(i32::from),
            latency_ms: i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX),
            error: outcome.error.clone(),
            response_excerpt: outcome.excerpt.clone(),
        };
        diesel::insert_into(webhook_attempts::table).values(&row).execute(conn)?;
    }
    let succeeded = attempted && outcome.error.is_none();
    let gone = outcome.status_code == Some(410);
    if gone {
        diesel::update(webhook_endpoints::table.find(&job.endpoint.id))
            .set((
                webhook_endpoints::enabled.eq(false),
                webhook_endpoints::disabled_reason.eq("the receiver answered 410 Gone"),
                webhook_endpoints::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    let retry_in = match (outcome.status_code, outcome.retry_after) {
        (Some(429 | 503), Some(after)) => Some(after),
        _ => schedule.get(attempts as usize).copied().map(jitter),
    };
    let (status, next) = if succeeded {
        ("succeeded", now)
    } else if !attempted || gone {
        ("failed", now)
    } else {
        match retry_in {
            Some(delay) if (attempts as usize) < schedule.len() => {
                ("pending", now + chrono::Duration::from_std(delay).unwrap_or_default())
            }
            _ => ("failed", now),
        }
    };
    diesel::update(webhook_deliveries::table.find(&current.id))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::attempts.eq(attempts),
            webhook_deliveries::next_attempt_at.eq(next),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::lock_token.eq(None::<String>),
            webhook_deliveries::last_status_code.eq(outcome.status_code.map(i32::from)),
            webhook_deliveries::last_error.eq(&outcome.error),
            webhook_deliveries::updated_at.eq(now),
            webhook_deliveries::delivered_at.eq(succeeded.then_some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Loopback, private, link-local, shared and other addresses no public receiver has.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// The host of a URL and the public addresses it resolves to (refused if any is not public).
async fn resolve_public(raw: &str) -> Result<(String, Vec<std::net::SocketAddr>), ApiError> {
    let url = check_destination(raw, true).await?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<std::net::SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| ApiError::invalid(format!("url host {host:?} does not resolve")))?
            .collect(),
    };
    if addrs.is_empty() || addrs.iter().any(|a| is_private(a.ip())) {
        return Err(ApiError::invalid("url resolves to a loopback, private or link-local address"));
    }
    Ok((host, addrs))
}

/// Checks an endpoint URL: http(s), a host, no credentials, and, unless private networks
/// are allowed, every address it resolves to public.
pub async fn check_destination(raw: &str, allow_private: bool) -> Result<url::Url, ApiError> {
    let url = url::Url::parse(raw).map_err(|e| ApiError::invalid(format!("url is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ApiError::invalid("url must be http:// or https://"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::invalid("url must not carry credentials"));
    }
    let host = url.host_str().ok_or_else(|| ApiError::invalid("url needs a host"))?.trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    if allow_private {
        return Ok(url);
    }
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| ApiError::invalid(format!("url host {host:?} does not resolve")))?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.is_empty() || addresses.into_iter().any(is_private) {
        return Err(ApiError::invalid(
            "url resolves to a loopback, private or link-local address; set TABLEPAY_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true for a receiver on the venue's own network",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.10",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["8.8.8.8", "151.101.1.69", "2a00:1450:4001::200e"] {
            assert!(!is_private(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[tokio::test]
    async fn destinations() {
        assert!(check_destination("ftp://example.com/x", true).await.is_err());
        assert!(check_destination("https://user:pw@example.com/x", true).await.is_err());
        assert!(check_destination("http://127.0.0.1:9000/hook", false).await.is_err());
        assert!(check_destination("http://[::1]:9000/hook", false).await.is_err());
        assert!(check_destination("http://127.0.0.1:9000/hook", true).await.is_ok());
        assert!(check_destination("https://8.8.8.8/hook", false).await.is_ok());
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..200 {
            let d = jitter(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(80) && d <= Duration::from_secs(120), "{d:?}");
        }
    }
}
