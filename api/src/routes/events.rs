//! `GET /v1/venues/{venue_id}/events`: the venue's events live, as Server-Sent Events, for
//! staff dashboards. Each event's `id` is its number in the venue; a client that reconnects
//! with `Last-Event-ID` gets everything it missed, from the outbox.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::stream;
use tokio::sync::watch;

use crate::AppState;
use crate::app::events;
use crate::auth::VenueAuth;
use crate::error::ApiError;
use crate::http::parse_id;
use tablepay_domain::VenueId;
use tablepay_store::Store;
use tablepay_store::rows::Event;

const KEEP_ALIVE: Duration = Duration::from_secs(15);

struct Feed {
    store: Store,
    venue_id: String,
    last: i64,
    signal: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    queued: VecDeque<Bytes>,
}

fn frame(event: &Event) -> Bytes {
    Bytes::from(format!("id: {}\nevent: {}\ndata: {}\n\n", event.seq, event.event_type, event.payload))
}

async fn next(mut feed: Feed) -> Option<(Result<Bytes, actix_web::Error>, Feed)> {
    loop {
        if *feed.closing.borrow() {
            return None;
        }
        if let Some(chunk) = feed.queued.pop_front() {
            return Some((Ok(chunk), feed));
        }
        feed.signal.borrow_and_update();
        let page = events::after(&feed.store, feed.venue_id.clone(), feed.last).await;
        match page {
            Ok(page) if !page.is_empty() => {
                feed.last = page.last().map_or(feed.last, |e| e.seq);
                feed.queued.extend(page.iter().map(frame));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "live feed stopped");
                return None;
            }
        }
        tokio::select! {
            changed = feed.signal.changed() => if changed.is_err() { return None },
            _ = feed.closing.changed() => return None,
            _ = tokio::time::sleep(KEEP_ALIVE) => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), feed)),
        }
    }
}

/// The `Last-Event-ID` a reconnecting client sends, as a number; 400 when it is not one.
pub(crate) fn last_event_id(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get("last-event-id") else { return Ok(None) };
    let number = value.to_str().ok().and_then(|text| text.trim().parse::<i64>().ok());
    number.map(Some).ok_or_else(|| ApiError::bad_request("Last-Event-ID must be an event number"))
}

/// `GET /v1/venues/{venue_id}/events` (any credential of the venue).
#[utoipa::path(
    get, path = "/v1/venues/{venue_id}/events", tag = "staff", params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event number")),
    responses(
        (status = 200, description = "Server-Sent Events: `id`, `event` (the event type) and `data` (the webhook body)", content_type = "text/event-stream", body = String),
    )
)]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: VenueAuth,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let venue_id: VenueId = parse_id(&path)?;
    caller.0.require_venue(&venue_id, "venue")?;
    let resume = last_event_id(&req)?;
    // Without Last-Event-ID, the feed starts with what happens next.
    let current = events::latest_seq(&state.db, venue_id.clone()).await?;
    let feed = Feed {
        store: state.db.clone(),
        venue_id: venue_id.into(),
        last: resume.unwrap_or(current).max(0),
        signal: state.db.event_signal(),
        closing: state.closing(),
        queued: VecDeque::from([Bytes::from_static(b"retry: 2000\n\n")]),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream::unfold(feed, next)))
}
