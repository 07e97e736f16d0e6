//! `GET /v1/t/{qr_token}/events`: the guests at a table, live, as Server-Sent Events.
//!
//! The venue's outbox is read as the staff's feed reads it, keeping what concerns this table
//! and nothing a guest may not see: `bill.updated` carries the guest view (as
//! `GET /v1/t/{qr_token}` answers it, sent when it changed), `table.settled` the bill's
//! total and tips, `assistance.resolved` the call. Each event's `id` is its number in the
//! venue, so a client that reconnects with `Last-Event-ID` misses nothing; on connecting it
//! gets the bill as it stands. At most [`MAX_STREAMS_PER_TABLE`] streams per table.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::stream;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::AppState;
use crate::app::events;
use crate::error::{ApiError, Code};
use crate::routes::events::last_event_id;
use crate::routes::guest::cached_view;
use tablepay_domain::VenueId;
use tablepay_store::rows::Event;

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Open streams a table may hold: a table's guests, each with a phone or two.
pub const MAX_STREAMS_PER_TABLE: usize = 50;

/// Open guest streams per table, in this process.
#[derive(Debug, Default, Clone)]
pub struct GuestStreams(Arc<Mutex<HashMap<String, usize>>>);

/// One open stream; dropping it (the client went away) frees its place.
#[derive(Debug)]
pub struct Slot {
    streams: GuestStreams,
    table_id: String,
}

impl GuestStreams {
    fn enter(&self, table_id: &str) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(table_id.to_owned()).or_default();
        if *count >= MAX_STREAMS_PER_TABLE {
            return None;
        }
        *count += 1;
        Some(Slot { streams: self.clone(), table_id: table_id.to_owned() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.streams.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.table_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.table_id);
            }
        }
    }
}

struct Feed {
    state: web::Data<AppState>,
    token: String,
    table_id: String,
    venue_id: String,
    last: i64,
    /// The guest view last sent, to send `bill.updated` only when it changed.
    sent: Bytes,
    signal: watch::Receiver<u64>,
    closing: watch::Receiver<bool>,
    queued: VecDeque<Bytes>,
    _slot: Slot,
}

fn frame(id: i64, event_type: &str, data: impl std::fmt::Display) -> Bytes {
    Bytes::from(format!("id: {id}\nevent: {event_type}\ndata: {data}\n\n"))
}

/// What of a venue event the table's guests see: `None` when it is not theirs. Events that
/// may change the bill mark it to be read again.
fn for_guests(event: &Event, table_id: &str, bill_changed: &mut bool) -> Option<(&'static str, Value)> {
    let payload: Value = serde_json::from_str(&event.payload).unwrap_or_default();
    let data = &payload["data"];
    match event.event_type.as_str() {
        "table.settled" if data["table_id"] == table_id => Some((
            "table.settled",
            json!({"bill_id": data["bill_id"], "table_label": data["table_label"], "total": data["total"],
                   "tips": data["tips"], "settled_at": data["settled_at"]}),
        )),
        "assistance.resolved" if data["assistance"]["table_id"] == table_id => {
            let a = &data["assistance"];
            Some((
                "assistance.resolved",
                json!({"assistance": {"id": a["id"], "reason": a["reason"], "status": a["status"],
                       "created_at": a["created_at"], "resolved_at": a["resolved_at"]}}),
            ))
        }
        kind if ["bill.", "payment.", "tender.", "adjustment."].iter().any(|p| kind.starts_with(p)) => {
            *bill_changed = true;
            None
        }
        _ => None,
    }
}

/// The guest view as JSON text (the one the guests' cache keeps), `None` once the token names
/// no table (it was rotated).
async fn view(feed: &Feed) -> Option<Bytes> {
    // The token first (from the cache too): a rotated token names no table any more, and the
    // view is kept per table, not per token.
    let table = match feed.state.guests.table(&feed.state.db, &feed.token).await {
        Ok(Some(table)) if table.table_id == feed.table_id => Some(table),
        Ok(_) => return None,
        Err(e) => {
            tracing::debug!(error = %e, "guest stream ends");
            return None;
        }
    };
    match cached_view(&feed.state, table, feed.token.clone()).await {
        Ok(view) => Some(view),
        Err(e) => {
            tracing::debug!(error = %e, "guest stream ends");
            None
        }
    }
}

/// Queues `bill.updated` with the view, when it differs from the one last sent.
async fn refresh(feed: &mut Feed, id: i64) -> bool {
    let Some(current) = view(feed).await else { return false };
    if current != feed.sent {
        feed.queued.push_back(frame(id, "bill.updated", String::from_utf8_lossy(&current)));
        feed.sent = current;
    }
    true
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
        let page = events::after(&feed.state.db, feed.venue_id.clone(), feed.last).await;
        match page {
            Ok(page) if !page.is_empty() => {
                let mut bill_changed = false;
                for event in &page {
                    if let Some((kind, data)) = for_guests(event, &feed.table_id, &mut bill_changed) {
                        feed.queued.push_back(frame(event.seq, kind, data));
                    }
                }
                feed.last = page.last().map_or(feed.last, |e| e.seq);
                let last = feed.last;
                if bill_changed && !refresh(&mut feed, last).await {
                    return None;
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "guest stream stopped");
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

/// `GET /v1/t/{qr_token}/events`: the table's bill and what staff did for its guests, live.
#[utoipa::path(
    get, path = "/v1/t/{qr_token}/events", tag = "guest",
    params(("Last-Event-ID" = Option<i64>, Header, minimum = 0, nullable = false, description = "Resume after this event number")),
    responses(
        (status = 200, description = "Server-Sent Events: `bill.updated` (data: the guest view), `table.settled`, `assistance.resolved`; each event's data is a JSON object", content_type = "text/event-stream", body = serde_json::Value),
    )
)]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = path.into_inner();
    let (table, venue) = crate::app::checkout::guest_table(&state.db, token.clone()).await?;
    // Event numbers start at 1: a negative one is no event number (the schema says so too).
    let resume = match last_event_id(&req)? {
        Some(id) if id < 0 => return Err(ApiError::bad_request("Last-Event-ID must be an event number")),
        other => other,
    };
    let slot = state.guest_streams.enter(&table.id).ok_or_else(|| {
        ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            Code::RateLimited,
            format!("this table already has {MAX_STREAMS_PER_TABLE} open streams; close one or poll the bill"),
        )
    })?;
    let venue_id = VenueId::parse(&venue.id).map_err(|_| ApiError::internal("stored venue id is invalid"))?;
    let current = events::latest_seq(&state.db, venue_id).await?;
    let mut feed = Feed {
        state: state.clone(),
        token,
        table_id: table.id,
        venue_id: venue.id,
        last: resume.unwrap_or(current).max(0),
        sent: Bytes::new(),
        signal: state.db.event_signal(),
        closing: state.closing(),
        queued: VecDeque::from([Bytes::from_static(b"retry: 2000\n\n")]),
        _slot: slot,
    };
    // The bill as it stands, first: a page that (re)connects needs nothing else to be current.
    let from = feed.last;
    if !refresh(&mut feed, from).await {
        return Err(ApiError::not_found("table"));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream::unfold(feed, next)))
}
