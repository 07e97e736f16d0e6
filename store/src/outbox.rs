//! The outbox: events written in the same transaction as the change that caused them,
//! each with one delivery per subscribed webhook endpoint. This module also knows which
//! transactions wrote one, so that [`crate::Store::write`] can wake the delivery worker and
//! the live feeds after commit.

use std::cell::{Cell, RefCell};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tablepay_domain::status::DeliveryStatus;

use crate::new_id;
use crate::rows::{Event, Payment, WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use crate::schema::{bills, events, payments, venues, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::{DbConn, StoreResult, dialect};

/// What a transaction wrote to the outbox, read after commit to wake at once whoever waits on
/// it: the live feeds on events, the delivery worker on deliveries due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Emitted {
    /// An event was written.
    pub events: bool,
    /// A webhook delivery was made due (a new event's, a manual retry).
    pub deliveries: bool,
}

impl Emitted {
    /// Nothing written to the outbox.
    pub const NOTHING: Emitted = Emitted { events: false, deliveries: false };
    /// Events and deliveries: what a change nobody described may have written.
    pub const ANYTHING: Emitted = Emitted { events: true, deliveries: true };

    fn or(self, other: Emitted) -> Emitted {
        Emitted { events: self.events || other.events, deliveries: self.deliveries || other.deliveries }
    }
}

thread_local! {
    /// What the transaction running on this thread wrote to the outbox so far.
    static EMITTED: Cell<Emitted> = const { Cell::new(Emitted::NOTHING) };
}

/// Clears and returns what was written to the outbox since the last call on this thread.
pub fn take_emitted() -> Emitted {
    EMITTED.with(|e| e.take())
}

/// Records what this transaction wrote to the outbox, for [`take_emitted`] after it commits.
fn mark_emitted(emitted: Emitted) {
    EMITTED.with(|e| e.set(e.get().or(emitted)));
}

/// An event about to enter the outbox; its id and its number within the venue are given on
/// insert.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub venue_id: String,
    pub event_type: String,
    /// The JSON body sent to endpoints and the live feed.
    pub payload: String,
    pub created_at: NaiveDateTime,
}

impl NewEvent {
    /// The event as stored, with the id and number it was given.
    pub(crate) fn numbered(self, id: String, seq: i64) -> Event {
        Event {
            id,
            venue_id: self.venue_id,
            seq,
            event_type: self.event_type,
            payload: self.payload,
            created_at: self.created_at,
        }
    }
}

/// Writes an event, numbered within its venue, and one pending delivery per enabled endpoint
/// of the venue that subscribes to its type; answers the event's id. [`crate::Store::write`]
/// tells this and other processes at commit. Call inside a write transaction: numbering under
/// the venue's row lock makes the order of numbers the order of commits. In a transaction of
/// [`crate::Store::write`], the event and its deliveries are held and inserted as the
/// transaction's last statements (see [`holding`]).
pub fn append(conn: &mut DbConn, new: NewEvent) -> StoreResult<String> {
    append_except(conn, new, None)
}

/// [`append`], with no delivery to `except` (the endpoint the event is about, which just
/// failed to receive: telling it that it failed would only fail again).
pub fn append_except(conn: &mut DbConn, new: NewEvent, except: Option<&str>) -> StoreResult<String> {
    let id = new_id();
    let endpoints = crate::endpoints::enabled_of_venue(conn, &new.venue_id)?;
    let deliveries: Vec<WebhookDelivery> = endpoints
        .iter()
        .filter(|e| subscribes(e, &new.event_type) && Some(e.id.as_str()) != except)
        .map(|e| delivery(&e.id, &id, &new.venue_id, &new.event_type, new.created_at))
        .collect();
    crate::changes::touch_venue(&new.venue_id);
    mark_emitted(Emitted { events: true, deliveries: !deliveries.is_empty() });
    let event = HeldEvent { id: id.clone(), new, deliveries };
    // Held while `holding` runs; otherwise (a transaction not of `Store::write`) inserted at once.
    let at_once = HELD.with(|held| match &mut *held.borrow_mut() {
        Some(held) => {
            held.0.push(event);
            None
        }
        None => Some(event),
    });
    if let Some(event) = at_once {
        insert_held(conn, Held(vec![event]))?;
    }
    Ok(id)
}

thread_local! {
    /// The events appended by the write transaction running on this thread, while
    /// [`holding`] holds them.
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Events appended in a transaction and not yet inserted, oldest first.
#[derive(Default)]
pub(crate) struct Held(Vec<HeldEvent>);

struct HeldEvent {
    id: String,
    new: NewEvent,
    deliveries: Vec<WebhookDelivery>,
}

/// Runs a write transaction's work, holding the events it appends instead of inserting them;
/// the caller inserts them with [`insert_held`] as the transaction's last statements. Numbering
/// an event locks its venue's row until the transaction ends, which serializes the venue's
/// writers: numbered last, a transaction holds that lock for its commit alone, not for
/// everything it does after its first event (on PostgreSQL the venue's writers waited on it
/// for most of their time). What `f` appended is dropped when it fails.
pub(crate) fn holding<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<(T, Held), E> {
    /// Ends the holding however `f` ends, a panic included.
    struct Holding;
    impl Drop for Holding {
        fn drop(&mut self) {
            HELD.with(|held| held.borrow_mut().take());
        }
    }
    HELD.with(|held| held.borrow_mut().replace(Held::default()));
    let _holding = Holding;
    let value = f()?;
    let held = HELD.with(|held| held.borrow_mut().take()).unwrap_or_default();
    Ok((value, held))
}

/// Runs `f`, work that is rolled back to a savepoint, and forgets the events it appended: held
/// events would otherwise outlive the rollback that undid what they report.
pub(crate) fn forgetting<T>(f: impl FnOnce() -> T) -> T {
    let before = HELD.with(|held| held.borrow().as_ref().map(|h| h.0.len()));
    let value = f();
    if let Some(len) = before {
        HELD.with(|held| {
            if let Some(held) = &mut *held.borrow_mut() {
                held.0.truncate(len);
            }
        });
    }
    value
}

/// Inserts held events, each numbered within its venue, and their deliveries. The venues'
/// rows are locked in the order of their ids (a venue's events keep theirs), so that two
/// transactions with events of the same venues never wait on each other in a circle.
pub(crate) fn insert_held(conn: &mut DbConn, mut held: Held) -> StoreResult<()> {
    held.0.sort_by(|a, b| a.new.venue_id.cmp(&b.new.venue_id));
    let mut deliveries = Vec::new();
    for event in held.0 {
        dialect::insert_numbered_event(conn, event.id, event.new)?;
        deliveries.extend(event.deliveries);
    }
    crate::batch_insert!(conn, webhook_deliveries::table, deliveries);
    Ok(())
}

/// An endpoint's `event_types` is a JSON array of types; empty (or unreadable) means every
/// event, as when it was created without a filter.
fn subscribes(endpoint: &WebhookEndpoint, event_type: &str) -> bool {
    let types: Vec<String> = serde_json::from_str(&endpoint.event_types).unwrap_or_default();
    types.is_empty() || types.iter().any(|t| t == event_type)
}

/// The number of the venue's latest event (0 before the first).
pub fn current_seq(conn: &mut DbConn, venue_id: &str) -> StoreResult<i64> {
    Ok(venues::table.find(venue_id).select(venues::event_seq).first(conn)?)
}

/// A first, pending delivery of the event `event_id` to an endpoint, due at once.
fn delivery(
    endpoint_id: &str,
    event_id: &str,
    venue_id: &str,
    event_type: &str,
    now: NaiveDateTime,
) -> WebhookDelivery {
    WebhookDelivery {
        id: new_id(),
        venue_id: venue_id.to_owned(),
        endpoint_id: endpoint_id.to_owned(),
        event_id: event_id.to_owned(),
        event_type: event_type.to_owned(),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: now,
        locked_until: None,
        lock_token: None,
        last_status_code: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        delivered_at: None,
    }
}

/// A payment and the table of its bill, which `payment.*` events name.
pub fn payment_with_table(conn: &mut DbConn, payment_id: &str) -> StoreResult<(Payment, String)> {
    Ok(payments::table
        .inner_join(bills::table)
        .filter(payments::id.eq(payment_id))
        .select((Payment::as_select(), bills::table_id))
        .first(conn)?)
}

/// The venue's events after `seq`, oldest first, at most `limit`: what a live stream has
/// not sent yet.
pub fn events_after(conn: &mut DbConn, venue_id: &str, seq: i64, limit: i64) -> StoreResult<Vec<Event>> {
    Ok(events::table
        .filter(events::venue_id.eq(venue_id))
        .filter(events::seq.gt(seq))
        .order(events::seq.asc())
        .limit(limit)
        .select(Event::as_select())
        .load(conn)?)
}

/// A delivery claimed for one attempt, with what the attempt needs.
pub type ClaimedDelivery = (WebhookDelivery, Event, WebhookEndpoint);

/// Claims the deliveries due at `now` (at most `limit`) with a lease until `until` under
/// `token`, and loads them with their events and endpoints. Leases let several processes
/// share the work: a process killed mid-attempt leaves a lease that simply runs out.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
    token: &str,
    until: NaiveDateTime,
) -> StoreResult<Vec<ClaimedDelivery>> {
    let ids = dialect::claim_due(conn, now, limit)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set((webhook_deliveries::locked_until.eq(until), webhook_deliveries::lock_token.eq(token)))
        .execute(conn)?;
    Ok(webhook_deliveries::table
        .inner_join(events::table)
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .select((WebhookDelivery::as_select(), Event::as_select(), WebhookEndpoint::as_select()))
        .load(conn)?)
}

/// When the next pending delivery can be claimed, if any: when it falls due, or, leased by a
/// process that is attempting it, when that lease runs out (see [`claim_due`]), whichever is
/// later, over every pending delivery.
pub fn next_due(conn: &mut DbConn) -> StoreResult<Option<NaiveDateTime>> {
    use diesel::dsl::min;
    use webhook_deliveries as d;
    let pending = d::table.filter(d::status.eq(DeliveryStatus::Pending.as_str()));
    let free: Option<NaiveDateTime> = pending
        .filter(d::locked_until.is_null().or(d::locked_until.le(d::next_attempt_at.nullable())))
        .select(min(d::next_attempt_at))
        .get_result(conn)?;
    let leased: Option<NaiveDateTime> = pending
        .filter(d::locked_until.gt(d::next_attempt_at.nullable()))
        .select(min(d::locked_until))
        .get_result(conn)?;
    Ok(free.into_iter().chain(leased).min())
}

/// The delivery if it is still leased under `token` (a lease that ran out may have been
/// taken by another process, whose result then counts instead).
pub fn find_leased(conn: &mut DbConn, id: &str, token: &str) -> StoreResult<Option<WebhookDelivery>> {
    Ok(webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::lock_token.eq(token))
        .select(WebhookDelivery::as_select())
        .first(conn)
        .optional()?)
}

/// One attempt to deliver, as it went; numbered when recorded.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub delivery_id: String,
    pub started_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Records one attempt, numbered after those already recorded for its delivery.
pub fn insert_attempt(conn: &mut DbConn, new: NewAttempt) -> StoreResult<()> {
    let done: i64 =
        webhook_attempts::table.filter(webhook_attempts::delivery_id.eq(&new.delivery_id)).count().get_result(conn)?;
    let row = WebhookAttempt {
        id: new_id(),
        delivery_id: new.delivery_id,
        attempt: i32::try_from(done + 1).unwrap_or(i32::MAX),
        started_at: new.started_at,
        status_code: new.status_code,
        latency_ms: new.latency_ms,
        error: new.error,
        response_excerpt: new.response_excerpt,
    };
    diesel::insert_into(webhook_attempts::table).values(&row).execute(conn)?;
    Ok(())
}

/// Where a delivery stands after an attempt (or after giving up without one).
#[derive(Debug, Clone)]
pub struct DeliveryChanges {
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

/// Saves where a delivery stands and releases its lease.
pub fn update_delivery(conn: &mut DbConn, id: &str, changes: &DeliveryChanges) -> StoreResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(changes.status.as_str()),
            webhook_deliveries::attempts.eq(changes.attempts),
            webhook_deliveries::next_attempt_at.eq(changes.next_attempt_at),
            webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            webhook_deliveries::lock_token.eq(None::<String>),
            webhook_deliveries::last_status_code.eq(changes.last_status_code),
            webhook_deliveries::last_error.eq(&changes.last_error),
            webhook_deliveries::updated_at.eq(changes.updated_at),
            webhook_deliveries::delivered_at.eq(changes.delivered_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sends a delivery again from the start of the retry schedule, due at once.
pub fn reschedule(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> StoreResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
    mark_emitted(Emitted { events: false, deliveries: true });
    Ok(())
}

/// Gives up the pending deliveries of an endpoint, saying why.
pub fn fail_pending_of_endpoint(
    conn: &mut DbConn,
    endpoint_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Failed.as_str()),
        webhook_deliveries::last_error.eq(reason),
        webhook_deliveries::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// A delivery by id, of whichever venue: the caller checks whose it is.
pub fn find_delivery(conn: &mut DbConn, id: &str) -> StoreResult<Option<WebhookDelivery>> {
    Ok(webhook_deliveries::table.find(id).select(WebhookDelivery::as_select()).first(conn).optional()?)
}

/// Which of a venue's deliveries a list shows: all that match every filter given, older than
/// `before` (ids are time-ordered), newest first, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub venue_id: String,
    pub status: Option<DeliveryStatus>,
    pub event_type: Option<String>,
    pub endpoint_id: Option<String>,
    pub before: Option<String>,
    pub limit: i64,
}

/// The page of deliveries `filter` describes (the delivery log).
pub fn list_deliveries(conn: &mut DbConn, filter: DeliveryFilter) -> StoreResult<Vec<WebhookDelivery>> {
    let mut query = webhook_deliveries::table.filter(webhook_deliveries::venue_id.eq(filter.venue_id)).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(webhook_deliveries::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.event_type {
        query = query.filter(webhook_deliveries::event_type.eq(kind));
    }
    if let Some(endpoint) = filter.endpoint_id {
        query = query.filter(webhook_deliveries::endpoint_id.eq(endpoint));
    }
    if let Some(before) = filter.before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    Ok(query
        .order(webhook_deliveries::id.desc())
        .limit(filter.limit)
        .select(WebhookDelivery::as_select())
        .load(conn)?)
}

/// The attempts of these deliveries, each delivery's in the order they were made.
pub fn attempts_of(conn: &mut DbConn, delivery_ids: &[&str]) -> StoreResult<Vec<WebhookAttempt>> {
    Ok(webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(delivery_ids))
        .order((webhook_attempts::delivery_id.asc(), webhook_attempts::attempt.asc()))
        .select(WebhookAttempt::as_select())
        .load(conn)?)
}
