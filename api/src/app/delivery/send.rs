//! One attempt to deliver an event: sign it, POST it, and read what the receiver answered.

use std::time::{Duration, Instant};

use super::{Job, sign};
use crate::app::delivery::destination::resolve_public;
use crate::settings::WebhookSettings;

/// How much of a receiver's answer is kept with the attempt.
const EXCERPT_BYTES: usize = 1024;
/// The longest `Retry-After` honoured: a receiver cannot park a delivery for longer.
const MAX_RETRY_AFTER_SECS: u64 = 86_400;

/// What one attempt came to.
pub(super) struct Outcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub excerpt: Option<String>,
    pub retry_after: Option<Duration>,
    pub latency: Duration,
}

impl Outcome {
    /// No answer at all: the request could not be made or was not answered.
    pub fn failed(error: String, latency: Duration) -> Outcome {
        Outcome { status_code: None, error: Some(error), excerpt: None, retry_after: None, latency }
    }
}

/// The HTTP client of every attempt: no redirects (a receiver cannot send us elsewhere).
pub(super) fn client(settings: &WebhookSettings) -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(settings.timeout)
}

pub(super) async fn attempt(settings: &WebhookSettings, client: &reqwest::Client, job: &Job) -> Outcome {
    let started = Instant::now();
    let fail = |error: String| Outcome::failed(error, started.elapsed());
    // Unless private networks are allowed, connect only to the addresses just checked, so a
    // name that resolves differently a moment later cannot point the request inward.
    let pinned;
    let client = if settings.allow_private_networks {
        client
    } else {
        let checked = match resolve_public(&job.endpoint.url).await {
            Ok(c) => c,
            Err(e) => return fail(e.to_string()),
        };
        pinned = match self::client(settings).resolve_to_addrs(&checked.0, &checked.1).build() {
            Ok(c) => c,
            Err(e) => return fail(format!("client: {e}")),
        };
        &pinned
    };
    let now = tablepay_store::now();
    let timestamp = now.and_utc().timestamp();
    let mut secrets = vec![job.endpoint.secret.as_str()];
    secrets.extend(job.retired_secrets.iter().map(String::as_str));
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
        Ok(response) => answered(response, started).await,
    }
}

/// What a receiver's answer says: 2xx delivered; anything else an error, with the
/// `Retry-After` it may ask for.
async fn answered(response: reqwest::Response, started: Instant) -> Outcome {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(MAX_RETRY_AFTER_SECS)));
    let bytes = response.bytes().await.unwrap_or_default();
    let excerpt = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]).into_owned();
    let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
    Outcome { status_code: Some(status), error, excerpt: Some(excerpt), retry_after, latency: started.elapsed() }
}
