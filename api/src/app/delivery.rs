//! Delivering the outbox to webhook endpoints: at least once, with the same `webhook-id`
//! on every attempt, on a retry schedule with jitter, every attempt recorded.
//!
//! Deliveries are claimed with a lease (`locked_until`, taken with `FOR UPDATE SKIP LOCKED`
//! on PostgreSQL, under SQLite's single writer otherwise), so several processes share the
//! work and no delivery is attempted twice at once. A process killed mid-attempt leaves a
//! lease that simply runs out; another process then delivers. Writing an attempt back checks
//! the lease's token, so a late process never overwrites the one that took over.
//!
//! Signing lives in [`sign`] beside the worker: the secrets it uses exist only for outgoing
//! webhooks, and endpoint management ([`endpoints`]) creates and rotates them.

pub mod destination;
pub mod endpoints;
mod send;
pub mod sign;

use std::time::Duration;

use chrono::NaiveDateTime;
use futures_util::future::join_all;
use tablepay_domain::status::DeliveryStatus;
use tablepay_store::outbox::{self, DeliveryChanges, NewAttempt};
use tablepay_store::rows::{Event, WebhookDelivery, WebhookEndpoint};
use tablepay_store::{DbConn, Store};
use tokio::sync::watch;

use crate::app::AppResult;
use crate::settings::WebhookSettings;
use send::Outcome;

/// A lease longer than any attempt (the timeout is at most 60 s).
const LEASE: Duration = Duration::from_secs(120);
/// Deliveries claimed at once, and attempted concurrently.
const BATCH: i64 = 32;
/// Why an endpoint stops receiving when its receiver says it is gone for good.
const GONE: &str = "the receiver answered 410 Gone";

/// The wait after a delivery that was due turned out claimed by another process meanwhile.
const CLAIMED_ELSEWHERE: Duration = Duration::from_millis(10);

/// One delivery claimed by this process.
struct Job {
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    /// Secrets rotated away that still sign, newest expiry first.
    retired_secrets: Vec<String>,
    event: Event,
    token: String,
}

/// Claims what is due now under a fresh lease token.
fn claim(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<Vec<Job>> {
    // Delivery bookkeeping: nothing a guest reads.
    tablepay_store::changes::touches_no_guest_view();
    let token = tablepay_store::new_id();
    let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let claimed = outbox::claim_due(conn, now, BATCH, &token, until)?;
    let endpoint_ids: Vec<&str> = claimed.iter().map(|(_, _, e)| e.id.as_str()).collect();
    let retired = tablepay_store::endpoints::secrets_in_use(conn, &endpoint_ids, now)?;
    Ok(claimed
        .into_iter()
        .map(|(delivery, event, endpoint)| {
            let retired_secrets =
                retired.iter().filter(|(of, _)| *of == endpoint.id).map(|(_, secret)| secret.clone()).collect();
            Job { delivery, endpoint, retired_secrets, event, token: token.clone() }
        })
        .collect())
}

/// Delivers due webhooks until `shutdown` turns true; the batch in flight is finished first.
/// Woken by every commit that made a delivery due (here or in another process), with a poll
/// as the safety net.
pub async fn worker(store: Store, settings: WebhookSettings, mut shutdown: watch::Receiver<bool>) {
    let built = send::client(&settings).user_agent(concat!("tablepay-webhooks/", env!("CARGO_PKG_VERSION"))).build();
    let client = match built {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are not delivered");
            return;
        }
    };
    let mut signal = store.delivery_signal();
    loop {
        if *shutdown.borrow() {
            break;
        }
        signal.borrow_and_update();
        // Read before claiming: a wake-up may find nothing due (another process claimed it, a
        // retry is not due yet), and a read takes no write transaction.
        let next = store.run(|conn| -> AppResult<_> { Ok(outbox::next_due(conn)?) }).await;
        let now = tablepay_store::now();
        let wait = match next {
            Ok(Some(due)) if due <= now => {
                match store.write(move |conn| -> AppResult<_> { claim(conn, now) }).await {
                    Ok(jobs) if !jobs.is_empty() => {
                        join_all(jobs.into_iter().map(|job| deliver(&store, &settings, &client, job))).await;
                        continue;
                    }
                    // Another process is claiming it (its lease is not committed yet).
                    Ok(_) => CLAIMED_ELSEWHERE.min(settings.poll_interval),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not claim webhook deliveries");
                        settings.poll_interval
                    }
                }
            }
            Ok(Some(due)) => (due - now).to_std().unwrap_or(Duration::ZERO).min(settings.poll_interval),
            Ok(None) => settings.poll_interval,
            Err(e) => {
                tracing::warn!(error = %e, "could not read when webhook deliveries fall due");
                settings.poll_interval
            }
        };
        tokio::select! {
            changed = signal.changed() => if changed.is_err() { tokio::time::sleep(wait).await },
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
    tracing::info!("webhook worker stopped");
}

/// ±20 % of `delay`, so receivers that failed together are not retried together.
fn jitter(delay: Duration) -> Duration {
    let mut byte = [0_u8; 2];
    if getrandom::fill(&mut byte).is_err() {
        return delay;
    }
    let unit = f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX);
    delay.mul_f64(0.8 + 0.4 * unit)
}

/// Attempts one claimed delivery (unless its endpoint was disabled or deleted since the
/// event) and records how it went.
async fn deliver(store: &Store, settings: &WebhookSettings, client: &reqwest::Client, job: Job) {
    let usable = job.endpoint.enabled && job.endpoint.deleted_at.is_none();
    let outcome = if usable {
        send::attempt(settings, client, &job).await
    } else {
        Outcome::failed("the endpoint was disabled or deleted".into(), Duration::ZERO)
    };
    let schedule = settings.retry_schedule.clone();
    let delivery_id = job.delivery.id.clone();
    let recorded = store.write(move |conn| -> AppResult<_> { record(conn, &job, &outcome, usable, &schedule) }).await;
    if let Err(e) = recorded {
        tracing::error!(delivery = %delivery_id, error = %e, "could not record a webhook attempt");
    }
}

/// Writes an attempt back, if the lease is still this process's: the attempt itself, a
/// receiver's 410 (which disables the endpoint), and where the delivery now stands.
fn record(conn: &mut DbConn, job: &Job, outcome: &Outcome, attempted: bool, schedule: &[Duration]) -> AppResult<()> {
    tablepay_store::changes::touches_no_guest_view();
    let now = tablepay_store::now();
    let Some(current) = outbox::find_leased(conn, &job.delivery.id, &job.token)? else { return Ok(()) };
    let attempts = current.attempts + i32::from(attempted);
    if attempted {
        let attempt = NewAttempt {
            delivery_id: current.id.clone(),
            started_at: now - chrono::Duration::from_std(outcome.latency).unwrap_or_default(),
            status_code: outcome.status_code.map(i32::from),
            latency_ms: i64::try_from(outcome.latency.as_millis()).unwrap_or(i64::MAX),
            error: outcome.error.clone(),
            response_excerpt: outcome.excerpt.clone(),
        };
        outbox::insert_attempt(conn, attempt)?;
    }
    let gone = outcome.status_code == Some(410);
    // Several deliveries in flight may all hear 410: the one that switches the endpoint off tells.
    if gone && tablepay_store::endpoints::disable(conn, &job.endpoint.id, GONE, now)? {
        endpoint_disabled(conn, &job.endpoint, GONE)?;
    }
    let changes = next_state(outcome, attempted, attempts, schedule, now);
    outbox::update_delivery(conn, &current.id, &changes)?;
    if attempted && changes.status == DeliveryStatus::Failed {
        delivery_failed(conn, job, &changes)?;
    }
    Ok(())
}

/// Events about webhooks themselves: a failure to deliver one of them is not announced again
/// (two failing endpoints would otherwise tell each other forever).
const ABOUT_WEBHOOKS: [&str; 2] = ["webhook.delivery_failed", "webhook_endpoint.disabled"];

/// `webhook.delivery_failed`: a delivery used up its retries, so the POS (or whoever listens
/// there) missed this event. Staff hear it on the live stream and the venue's other
/// endpoints receive it; the endpoint that failed does not.
fn delivery_failed(conn: &mut DbConn, job: &Job, changes: &DeliveryChanges) -> AppResult<()> {
    if ABOUT_WEBHOOKS.contains(&job.event.event_type.as_str()) {
        return Ok(());
    }
    let payload: serde_json::Value = serde_json::from_str(&job.event.payload).unwrap_or_default();
    let data = &payload["data"];
    let bill_id = [&data["bill_id"], &data["bill"]["id"], &data["payment"]["bill_id"], &data["tender"]["bill_id"]]
        .into_iter()
        .find(|v| v.is_string())
        .cloned()
        .unwrap_or_default();
    let table_label = [&data["table_label"], &data["bill"]["table_label"]]
        .into_iter()
        .find(|v| v.is_string())
        .cloned()
        .unwrap_or_default();
    let data = serde_json::json!({
        "endpoint_id": job.endpoint.id,
        "url": job.endpoint.url,
        "delivery_id": job.delivery.id,
        "event_id": job.event.id,
        "event_type": job.event.event_type,
        "bill_id": bill_id,
        "table_label": table_label,
        "attempts": changes.attempts,
        "last_error": changes.last_error,
    });
    crate::app::events::emit_except(conn, &job.event.venue_id, ABOUT_WEBHOOKS[0], data, Some(&job.endpoint.id))?;
    Ok(())
}

/// `webhook_endpoint.disabled`: an endpoint stopped receiving (its receiver answered 410, or
/// a manager or the POS switched it off).
pub fn endpoint_disabled(conn: &mut DbConn, endpoint: &WebhookEndpoint, reason: &str) -> AppResult<()> {
    let data = serde_json::json!({"endpoint_id": endpoint.id, "url": endpoint.url, "reason": reason});
    crate::app::events::emit_except(conn, &endpoint.venue_id, ABOUT_WEBHOOKS[1], data, Some(&endpoint.id))?;
    Ok(())
}

/// The retry rule: delivered on a 2xx; given up without an attempt, on 410 Gone or when the
/// schedule is spent; otherwise pending again after the schedule's next delay (with jitter),
/// or after the receiver's `Retry-After` when it answered 429 or 503.
fn next_state(
    outcome: &Outcome,
    attempted: bool,
    attempts: i32,
    schedule: &[Duration],
    now: NaiveDateTime,
) -> DeliveryChanges {
    let succeeded = attempted && outcome.error.is_none();
    let gone = outcome.status_code == Some(410);
    let done = usize::try_from(attempts).unwrap_or(usize::MAX);
    let retry_in = match (outcome.status_code, outcome.retry_after) {
        (Some(429 | 503), Some(after)) => Some(after),
        _ => schedule.get(done).copied().map(jitter),
    };
    let (status, next_attempt_at) = if succeeded {
        (DeliveryStatus::Succeeded, now)
    } else if !attempted || gone {
        (DeliveryStatus::Failed, now)
    } else {
        match retry_in {
            Some(delay) if done < schedule.len() => {
                (DeliveryStatus::Pending, now + chrono::Duration::from_std(delay).unwrap_or_default())
            }
            _ => (DeliveryStatus::Failed, now),
        }
    };
    DeliveryChanges {
        status,
        attempts,
        next_attempt_at,
        last_status_code: outcome.status_code.map(i32::from),
        last_error: outcome.error.clone(),
        delivered_at: succeeded.then_some(now),
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..200 {
            let d = jitter(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(80) && d <= Duration::from_secs(120), "{d:?}");
        }
    }
}
